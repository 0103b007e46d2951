"""The one entity search: names and aliases, case-, accent- and typo-tolerant.

Every caller -- the search page and its suggestions, the API's `?q=`, exports by query,
the curators' entity pickers, imports and the article reader -- goes through
`entity_search`, so a name found in one place is found in all.
"""
from __future__ import annotations

from dataclasses import dataclass

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Case, Count, F, IntegerField, OuterRef, QuerySet, Subquery, Value, When
from django.db.models.functions import Coalesce
from rapidfuzz import fuzz

from apps.catalog.models import Alias, Entity, country_name
from apps.catalog.selectors.visibility import public_aliases, public_entities, public_records
from apps.catalog.text import normalize_name
from apps.catalog.vocab import Workflow


MAX_SEARCH_HITS = 200
_CANDIDATES = 300
_PG_CANDIDATES = 1000
_MIN_SCORE = 70.0


@dataclass
class SearchHit:
    entity_id: int
    score: float
    matched: str  # the alias that matched best, or "" when the name did


def _grams(norm: str, size: int = 3, cap: int = 16) -> list[str]:
    grams: list[str] = []
    for word in norm.split():
        if len(word) < size:
            grams.append(word)
            continue
        grams.extend(word[i:i + size] for i in range(len(word) - size + 1))
    grams = list(dict.fromkeys(grams))
    if len(grams) > cap:  # keep a spread of the query, not just its start
        step = len(grams) / cap
        grams = [grams[int(i * step)] for i in range(cap)]
    return grams


def _gram_score(field: str, grams: list[str]):
    total = None
    for gram in grams:
        term = Case(When(**{f"{field}__contains": gram}, then=Value(1)), default=Value(0), output_field=IntegerField())
        total = term if total is None else total + term
    return total


# SQLite: candidates from the FTS5 trigram index (apps.catalog.name_index) in two steps.
# 1. Names containing every word of the query (a substring match, the index's cheap case).
# 2. Only when none of those is close (a typo: WRatio under _FTS_GOOD_SCORE): names sharing the
#    most trigrams with the query, ranked by FTS5's bm25 over the rarest of its trigrams, as
#    many as cover at most _FTS_RANKED_DOCS names (a name sharing a third of the query's
#    trigrams shares one of the rarest unless all are common; ranking every name containing
#    "ing" would cost what the full scan did).
_FTS_GOOD_SCORE = 80.0
_FTS_RANKED_DOCS = 30_000


def _fts_quote(term: str) -> str:
    return '"' + term.replace('"', '""') + '"'


def _fts_arm(qs: QuerySet, table: str, entity_field: str, ranked: bool) -> tuple[str, list]:
    """One SELECT (entity id, name_norm) of `qs` (entities or aliases, filters kept) joined to
    `table`'s FTS5 index, which drives it; the MATCH expression is its last parameter."""
    from apps.catalog.name_index import fts_table

    fts = fts_table(table)
    sql, params = (qs.order_by().values(fts_row=F("id"), fts_entity=F(entity_field), fts_name=F("name_norm"))
                   .query.sql_with_params())
    return (f"SELECT * FROM (SELECT q.fts_entity, q.fts_name FROM {fts} JOIN ({sql}) AS q "
            f"ON q.fts_row = {fts}.rowid WHERE {fts} MATCH %s {f'ORDER BY {fts}.rank' if ranked else ''} "
            f"LIMIT {_CANDIDATES})"), list(params)


def _fts_candidates(entities: QuerySet, aliases: QuerySet, norm: str, grams: list[str]):
    """(name rows, alias rows) of (entity id, name_norm), or None when this database has no
    name index (see apps.catalog.name_index); one query, three for a query with a typo."""
    from django.db.utils import OperationalError

    from apps.catalog.name_index import fts_table

    def both(match: str, ranked: bool = False) -> tuple[list, list]:
        (names_sql, names_params), (alias_sql, alias_params) = (
            _fts_arm(entities, "catalog_entity", "id", ranked), _fts_arm(aliases, "catalog_alias", "entity_id", ranked))
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT 0, * FROM ({names_sql}) UNION ALL SELECT 1, * FROM ({alias_sql})",
                           [*names_params, match, *alias_params, match])
            rows = cursor.fetchall()
        return [r[1:] for r in rows if r[0] == 0], [r[1:] for r in rows if r[0] == 1]

    words = " ".join(_fts_quote(w) for w in norm.split() if len(w) >= 3)
    try:
        name_rows, alias_rows = both(words)
    except OperationalError:  # no index: a database not migrated by this version
        return None
    if any(c.startswith(norm) or fuzz.WRatio(norm, c) >= _FTS_GOOD_SCORE for _id, c in name_rows + alias_rows):
        return name_rows, alias_rows
    fts = fts_table("catalog_entity")
    usable = [g for g in grams if len(g) >= 3]
    counts_sql = ", ".join(f"(SELECT count(*) FROM (SELECT 1 FROM {fts} WHERE {fts} MATCH %s LIMIT %s))"
                           for _ in usable)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {counts_sql}", [x for g in usable for x in (_fts_quote(g), _FTS_RANKED_DOCS + 1)])
        counts = cursor.fetchone()
    chosen, covered = [], 0
    for count, gram in sorted(zip(counts, usable)):
        if chosen and covered + count > _FTS_RANKED_DOCS:
            break
        chosen.append(gram)
        covered += count
    ranked_names, ranked_aliases = both(" OR ".join(_fts_quote(g) for g in chosen), ranked=True)
    seen_names, seen_aliases = set(name_rows), set(alias_rows)
    return ([*name_rows, *(r for r in ranked_names if r not in seen_names)],
            [*alias_rows, *(r for r in ranked_aliases if r not in seen_aliases)])


def entity_search(*, q: str, kind: str = "", country: str = "", include_unpublished: bool = False,
                  limit: int = MAX_SEARCH_HITS) -> list[SearchHit]:
    """Public entities whose name or a public alias matches `q`: case-, accent- and
    typo-tolerant ("Nuotech", "Nuctek" find Nuctech). Best first, at most `limit`.

    `include_unpublished` (curators' pickers, imports, the article reader) searches every
    entity that is not retracted, with all its names.

    Candidates come from SQL (names sharing the most trigrams with the query, so the cost
    does not grow with the number of matches; on PostgreSQL pg_trgm's indexed word
    similarity), then rapidfuzz ranks them. Two queries.
    """
    norm = normalize_name(q)
    if not norm:
        return []
    if include_unpublished:
        entities = Entity.objects.exclude(workflow=Workflow.RETRACTED)
        aliases = Alias.objects.exclude(entity__workflow=Workflow.RETRACTED).exclude(workflow=Workflow.RETRACTED)
    else:
        entities, aliases = public_entities(), public_aliases()
    if kind:
        entities, aliases = entities.filter(kind=kind), aliases.filter(entity__kind=kind)
    if country:
        entities, aliases = entities.filter(country=country), aliases.filter(entity__country=country)

    grams = _grams(norm)
    if len(norm) < 3:
        name_rows = entities.filter(name_norm__startswith=norm).values_list("id", "name_norm")[:_CANDIDATES]
        alias_rows = aliases.filter(name_norm__startswith=norm).values_list("entity_id", "name_norm")[:_CANDIDATES]
    elif connection.vendor == "postgresql":
        # pg_trgm: names whose word similarity to the query reaches
        # pg_trgm.word_similarity_threshold (set on each connection, see settings), found
        # through the GIN trigram indexes of catalog migration 0006. Unordered on purpose:
        # a query as common as "company" stops at the limit instead of sorting every name;
        # rapidfuzz ranks what comes back. (`order_by()`: the models' default ordering by
        # name made PostgreSQL fetch and sort every match, 0.5 s for a common word at 1M names.)
        name_rows = (entities.filter(TrigramWordSimilar(F("name_norm"), Value(norm))).order_by()
                     .values_list("id", "name_norm")[:_PG_CANDIDATES])
        alias_rows = (aliases.filter(TrigramWordSimilar(F("name_norm"), Value(norm))).order_by()
                      .values_list("entity_id", "name_norm")[:_PG_CANDIDATES])
    elif connection.vendor == "sqlite" and any(len(w) >= 3 for w in norm.split()) and (
            found := _fts_candidates(entities, aliases, norm, grams)) is not None:
        name_rows, alias_rows = found
    else:
        need = max(1, (len(grams) + 2) // 3)
        name_rows = (entities.annotate(g=_gram_score("name_norm", grams)).filter(g__gte=need)
                     .order_by("-g").values_list("id", "name_norm")[:_CANDIDATES])
        alias_rows = (aliases.annotate(g=_gram_score("name_norm", grams)).filter(g__gte=need)
                      .order_by("-g").values_list("entity_id", "name_norm")[:_CANDIDATES])

    best: dict[int, SearchHit] = {}
    for rows, is_alias in ((name_rows, False), (alias_rows, True)):
        for entity_id, candidate in rows:
            score = fuzz.WRatio(norm, candidate)
            if candidate == norm:
                score = 101.0 if not is_alias else 100.5
            elif candidate.startswith(norm):
                score = max(score, 99.0)
            if score < _MIN_SCORE:
                continue
            hit = best.get(entity_id)
            if hit is None or score > hit.score or (score == hit.score and not is_alias):
                best[entity_id] = SearchHit(entity_id, score, candidate if is_alias else "")
    return sorted(best.values(), key=lambda h: -h.score)[:limit]


def record_count_annotation():
    """Public records an entity takes part in (as subject or object), as one expression."""
    def count(field):
        sub = (public_records().filter(**{field: OuterRef("pk")}).order_by()
               .values(field).annotate(c=Count("id")).values("c"))
        return Coalesce(Subquery(sub, output_field=IntegerField()), Value(0))

    return count("subject") + count("object")


def search_results(hits: list[SearchHit]) -> list[dict]:
    """Result rows (entity, record count, the alias that matched) for one page of hits: one query."""
    ids = [h.entity_id for h in hits]
    rows = {e.id: e for e in Entity.objects.filter(id__in=ids).annotate(n_records=record_count_annotation())
            .prefetch_related(None)}
    aliases = {}
    if any(h.matched for h in hits):
        for alias in Alias.objects.filter(entity_id__in=[h.entity_id for h in hits if h.matched]).exclude(
                workflow=Workflow.RETRACTED):
            aliases.setdefault((alias.entity_id, alias.name_norm), alias.name)
    out = []
    for hit in hits:
        entity = rows.get(hit.entity_id)
        if entity is not None:
            out.append({"entity": entity, "records": entity.n_records, "score": hit.score,
                        "matched_alias": aliases.get((hit.entity_id, hit.matched), "")})
    return out


def search_page(*, q: str, kind: str = "", country: str = "", page: int = 1, per_page: int = 20):
    hits = entity_search(q=q, kind=kind, country=country)
    paginator = Paginator(hits, per_page)
    page_obj = paginator.get_page(page)
    return page_obj, search_results(list(page_obj.object_list))


def country_choices() -> list[tuple[str, str]]:
    """The countries of public entities (the search and timeline filters). Cached until the
    store changes: finding them reads every entity (0.4 s on PostgreSQL at 1M entities)."""
    from apps.catalog.selectors.store_cache import cached_until_store_changes

    def compute():
        codes = public_entities().exclude(country="").order_by().values_list("country", flat=True).distinct()
        return sorted(((c, country_name(c)) for c in codes), key=lambda item: item[1])
    return cached_until_store_changes("country-choices", compute)


def entities_matching(q: str, *, limit: int = MAX_SEARCH_HITS, include_unpublished: bool = False) -> list[Entity]:
    """The entities `entity_search` finds for `q`, best first, as model instances (one query more)."""
    hits = entity_search(q=q, limit=limit, include_unpublished=include_unpublished)
    by_id = Entity.objects.in_bulk([h.entity_id for h in hits])
    return [by_id[h.entity_id] for h in hits if h.entity_id in by_id]
