"""Reads behind the browsing pages. Only published data is public.

Traversals (ownership chains, neighbourhoods, paths, deployments and country activity) are
answered by Neo4j through graph.queries; details (sources, quotes, titles) by the ORM, in a
bounded number of queries per page whatever the size of the graph.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from django.contrib.postgres.lookups import TrigramWordSimilar
from django.core.paginator import Paginator
from django.db import connection
from django.db.models import (
    Case,
    Count,
    F,
    IntegerField,
    OuterRef,
    Prefetch,
    Q,
    QuerySet,
    Subquery,
    Value,
    When,
)
from django.db.models.functions import Coalesce, Left, Length, Lower
from rapidfuzz import fuzz

from apps.catalog.models import Alias, Citation, Entity, Record, Source, country_name
from apps.catalog.text import normalize_name
from apps.catalog.vocab import EntityKind, RecordKind, Workflow
from graph import queries

PUBLISHED = Workflow.PUBLISHED
ENDED_STATUSES = queries.ENDED_STATUSES

# --- visibility ------------------------------------------------------------------------


def published_entities() -> QuerySet:
    return Entity.objects.filter(status=PUBLISHED)


def published_records() -> QuerySet:
    """Published records whose every named party is published too."""
    return Record.objects.filter(workflow=PUBLISHED, subject__status=PUBLISHED, object__status=PUBLISHED).filter(
        Q(site__isnull=True) | Q(site__status=PUBLISHED)
    ).filter(Q(party__isnull=True) | Q(party__status=PUBLISHED))


def current_on(as_of: str | None) -> Q:
    """Records current on `as_of` (same rule as graph.queries: partial dates compare as
    prefixes; an ended status without an end date is not current)."""
    if not as_of:
        return Q()
    return (
        (Q(start="") | Q(start__lte=as_of))
        & (Q(end="") | Q(end__gte=Left(Value(as_of), Length("end"))))
        & ~(Q(end="") & Q(status__in=ENDED_STATUSES))
    )


def with_sources(qs: QuerySet) -> QuerySet:
    """Everything a record card shows, in three queries for any number of records."""
    citations = Citation.objects.select_related("source").order_by("source_id", "id")  # grouped by source
    # The evidence badge in the card reads `published_followups` (the subject's responses);
    # prefetching it here keeps a page at a fixed number of queries.
    # kind/workflow are compared through Lower() on purpose: as plain equalities SQLite's
    # planner would pick their (unselective) indexes over the related_id one the prefetch needs.
    statements = (Record.objects.alias(k=Lower("kind"), w=Lower("workflow"))
                  .filter(k=RecordKind.STATEMENT, w=PUBLISHED).select_related("subject", "object")
                  .prefetch_related(Prefetch("citations", queryset=Citation.objects.select_related("source"))))
    return qs.select_related("subject", "object", "site", "party").prefetch_related(
        Prefetch("citations", queryset=citations),
        Prefetch("followups", queryset=statements, to_attr="published_followups"),
    )


def records_by_uuid(uuids) -> dict[str, Record]:
    """Published records with their sources, keyed by uuid string (one page's worth)."""
    uuids = [u for u in set(uuids) if u]
    if not uuids:
        return {}
    return {str(r.uuid): r for r in with_sources(published_records().filter(uuid__in=uuids))}


def sources_by_uuid(uuids) -> dict[str, Source]:
    uuids = [u for u in set(uuids) if u]
    if not uuids:
        return {}
    return {str(s.uuid): s for s in Source.objects.filter(uuid__in=uuids).defer("text", "metadata_quotes")}


# --- search ----------------------------------------------------------------------------

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


def entity_search(*, q: str, kind: str = "", country: str = "") -> list[SearchHit]:
    """Published entities whose name or an alias matches `q`: case-, accent- and
    typo-tolerant ("Nuotech", "Nuctek" find Nuctech). Best first, at most MAX_SEARCH_HITS.

    Candidates come from SQL (names sharing the most trigrams with the query, so the cost
    does not grow with the number of matches; on PostgreSQL pg_trgm's indexed word
    similarity), then rapidfuzz ranks them. Two queries.
    """
    norm = normalize_name(q)
    if not norm:
        return []
    entities = published_entities()
    aliases = Alias.objects.filter(entity__status=PUBLISHED)
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
        # through the GIN trigram indexes of catalog migration 0003. Unordered on purpose:
        # a query as common as "company" stops at the limit instead of sorting every name;
        # rapidfuzz ranks what comes back.
        name_rows = (entities.filter(TrigramWordSimilar(F("name_norm"), Value(norm)))
                     .values_list("id", "name_norm")[:_PG_CANDIDATES])
        alias_rows = (aliases.filter(TrigramWordSimilar(F("name_norm"), Value(norm)))
                      .values_list("entity_id", "name_norm")[:_PG_CANDIDATES])
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
    return sorted(best.values(), key=lambda h: -h.score)[:MAX_SEARCH_HITS]


def record_count_annotation():
    """Published records an entity takes part in (as subject or object), as one expression."""
    def count(field):
        sub = (Record.objects.filter(**{field: OuterRef("pk")}, workflow=PUBLISHED).order_by()
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
        for alias in Alias.objects.filter(entity_id__in=[h.entity_id for h in hits if h.matched]):
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
    codes = published_entities().exclude(country="").order_by().values_list("country", flat=True).distinct()
    return sorted(((c, country_name(c)) for c in codes), key=lambda item: item[1])


# --- entity pages ----------------------------------------------------------------------

# Record groups of an entity page, in display order: (key, heading).
GROUPS = [
    ("owners", "Owners and controllers"),
    ("holdings", "Subsidiaries and holdings"),
    ("contracts", "Tenders and contracts"),
    ("bans", "Bans and restrictions"),
    ("loans", "Loans"),
    ("donations", "Donations"),
    ("deployments", "Deployments"),
    ("roles", "People and roles"),
    ("investigations", "Investigations and court cases"),
    ("statements", "Statements"),
]
GROUP_LABELS = dict(GROUPS)
_KIND_GROUP = {
    RecordKind.CONTRACT: "contracts", RecordKind.BAN: "bans", RecordKind.LOAN: "loans",
    RecordKind.DONATION: "donations", RecordKind.DEPLOYMENT: "deployments", RecordKind.ROLE: "roles",
    RecordKind.INVESTIGATION: "investigations", RecordKind.COURT_CASE: "investigations",
    RecordKind.STATEMENT: "statements",
}
PER_GROUP = 6


def entity_get(uid) -> Entity | None:
    """A published entity with its aliases and entity-level citations (three queries)."""
    citations = Citation.objects.select_related("source").order_by("id")
    return (published_entities().prefetch_related("aliases", Prefetch("citations", queryset=citations))
            .filter(uuid=uid).first())


def _group_expression(entity: Entity):
    whens = [When(kind=RecordKind.OWNERSHIP, object_id=entity.pk, then=Value("owners")),
             When(kind=RecordKind.OWNERSHIP, then=Value("holdings"))]
    whens += [When(kind=kind, then=Value(group)) for kind, group in _KIND_GROUP.items()]
    return Case(*whens, default=Value("statements"))


def _entity_records(entity: Entity, as_of: str | None) -> QuerySet:
    # A UNION of the four foreign-key lookups, not an OR: each arm uses its own index,
    # where SQLite's planner would otherwise scan the (unselective) workflow index.
    plain = Record.objects.order_by()
    touches = plain.filter(subject=entity).values("pk").union(
        plain.filter(object=entity).values("pk"), plain.filter(site=entity).values("pk"),
        plain.filter(party=entity).values("pk"))
    return (published_records().filter(pk__in=touches).filter(current_on(as_of))
            .annotate(group=_group_expression(entity)))


def entity_record_groups(entity: Entity, *, as_of: str | None = None, per_group: int = PER_GROUP) -> list[dict]:
    """The entity's records by group, the newest `per_group` of each, with totals.

    One light query lists (id, group) of every visible record, newest first; the shown
    ones are then fetched with their sources. A fixed number of queries however many
    records the entity has (the ranking is done here rather than with a window function,
    whose SQL costs more to build than this costs to run).
    """
    rows = _entity_records(entity, as_of).order_by("-start", "-id").values_list("id", "group")
    totals: dict[str, int] = defaultdict(int)
    shown: list[int] = []
    for record_id, group in rows:
        totals[group] += 1
        if totals[group] <= per_group:
            shown.append(record_id)
    if not shown:
        return []
    by_group: dict[str, list[Record]] = defaultdict(list)
    records = with_sources(Record.objects.filter(pk__in=shown).annotate(group=_group_expression(entity)))
    for record in records.order_by("-start", "-id"):
        by_group[record.group].append(record)
    return [{"key": key, "label": label, "total": totals[key], "records": by_group[key],
             "more": totals[key] > len(by_group[key])}
            for key, label in GROUPS if totals.get(key)]


def entity_group_page(entity: Entity, group: str, *, page: int = 1, as_of: str | None = None, per_page: int = 25):
    """One page of one group of an entity's records (for "show all")."""
    qs = _entity_records(entity, as_of).filter(group=group).order_by("-start", "-id")
    page_obj = Paginator(qs, per_page).get_page(page)
    page_obj.object_list = list(with_sources(qs)[page_obj.start_index() - 1:page_obj.end_index()]) if page_obj.paginator.count else []
    return page_obj


def ultimate_owners(entity: Entity, *, as_of: str | None = None) -> list[dict]:
    """The distinct top owners of the entity's chains, for the entity page's summary line."""
    result = queries.ownership_chains(str(entity.uuid), as_of=as_of, max_chains=20)
    tops: dict[str, dict] = {}
    for chain in result["chains"]:
        tops.setdefault(chain["top"]["uid"], {"node": chain["top"], "state": chain["state"],
                                              "ultimate": chain["ultimate"], "cycle": chain["ends_in_cycle"]})
    return list(tops.values())


# --- ownership -------------------------------------------------------------------------


def ownership_view(entity: Entity, *, as_of: str | None = None) -> dict:
    """Chains up to the ultimate owners and the tree of subsidiaries (two Cypher queries),
    with the sources of every step (one SQL query)."""
    uid = str(entity.uuid)
    up = queries.ownership_chains(uid, as_of=as_of)
    down = queries.ownership_tree(uid, as_of=as_of)
    source_ids: set[str] = set()
    for chain in up["chains"]:
        for step in chain["steps"]:
            source_ids.update(step["rel"].get("sources") or [])

    def collect(children):
        for child in children:
            source_ids.update(child["rel"].get("sources") or [])
            collect(child["children"])

    collect(down["children"])
    sources = sources_by_uuid(source_ids)

    def attach(rel):
        rel["source_list"] = [sources[s] for s in rel.get("sources") or [] if s in sources]

    for chain in up["chains"]:
        for step in chain["steps"]:
            attach(step["rel"])

    def attach_tree(children):
        for child in children:
            attach(child["rel"])
            attach_tree(child["children"])

    attach_tree(down["children"])
    return {"up": up, "down": down}


# --- deployments and countries -------------------------------------------------------

MAP_STATUSES = ["banned", "deployed", "donated", "contracted", "cancelled"]  # most telling first
MAP_LABELS = {"deployed": "Deployed", "contracted": "Contracted", "donated": "Donated",
              "banned": "Banned or excluded", "cancelled": "Cancelled"}


def map_status(rel: dict) -> str | None:
    """The map colour a record gives its country (None: it says nothing about presence)."""
    kind, status = rel.get("kind"), rel.get("status") or ""
    if kind == RecordKind.BAN:
        return None if status in ("lifted", "annulled", "expired", "proposed") else "banned"
    if kind == RecordKind.DEPLOYMENT:
        return {"banned": "banned", "removed": "cancelled", "cancelled": "cancelled",
                "planned": "contracted"}.get(status, "deployed")
    if kind == RecordKind.DONATION:
        return "donated"
    if kind == RecordKind.CONTRACT:
        return "cancelled" if status in ("cancelled", "blocked") else "contracted"
    return None


def deployments_view(entity: Entity, *, as_of: str | None = None) -> dict:
    """A vendor's footprint: the status of each country for the map, and a table by country
    and site with dates and sources (one Cypher query, one SQL query)."""
    rows = queries.vendor_footprint(str(entity.uuid), as_of=as_of)
    sources = sources_by_uuid(s for row in rows for s in row["rel"].get("sources") or [])
    countries: dict[str, dict] = {}
    for row in rows:
        status = map_status(row["rel"])
        code = row["country"]
        entry = countries.setdefault(code, {"iso2": code, "name": country_name(code), "statuses": set(), "rows": []})
        if status:
            entry["statuses"].add(status)
        row["map_status"] = status
        row["source_list"] = row["rel"]["source_list"] = [sources[s] for s in row["rel"].get("sources") or [] if s in sources]
        entry["rows"].append(row)
    map_data = {}
    for code, entry in countries.items():
        entry["rows"].sort(key=lambda r: (r["site_name"] or "", r["rel"].get("start") or ""))
        statuses = [s for s in MAP_STATUSES if s in entry["statuses"]]
        entry["status"] = statuses[0] if statuses else ""
        entry["status_labels"] = [MAP_LABELS[s] for s in statuses]
        if statuses:
            map_data[code] = {"status": statuses[0], "label": ", ".join(MAP_LABELS[s].lower() for s in statuses)}
    ordered = sorted(countries.values(), key=lambda e: e["name"])
    return {"countries": ordered, "map": map_data, "legend": {s: MAP_LABELS[s] for s in
                                                               ["deployed", "contracted", "donated", "banned", "cancelled"]}}


VENDOR_KINDS = (RecordKind.DEPLOYMENT, RecordKind.DONATION, RecordKind.CONTRACT)
COUNTRY_SECTIONS = [
    ("bans", "Bans and restrictions it enacted"),
    ("tenders", "Tenders and contracts"),
    ("loans", "Loans"),
    ("investigations", "Investigations and court cases"),
]


def country_entity(iso: str) -> Entity | None:
    return published_entities().filter(kind=EntityKind.COUNTRY, iso_code=iso).first()


def country_view(iso: str, *, as_of: str | None = None, pages: dict[str, int] | None = None,
                 per_page: int = 20) -> dict:
    """What happened in a country: the vendors present there (deployed, contracted, donated),
    the bans it enacted, its tenders, loans, investigations and court cases."""
    pages = pages or {}
    rows = queries.country_records(iso, as_of=as_of, kinds=["deployment", "donation", "contract", "ban", "loan",
                                                            "investigation", "court_case"])
    vendors: dict[str, dict] = {}
    sections: dict[str, list[str]] = defaultdict(list)
    for row in rows:
        rel, subject, obj = row["rel"], row["subject"], row["object"]
        kind = rel["kind"]
        if kind in VENDOR_KINDS:
            vendor = obj if kind == RecordKind.CONTRACT else subject
            place = subject if kind == RecordKind.CONTRACT else obj
            if place.get("country") == iso:
                entry = vendors.setdefault(vendor["uid"], {"node": vendor, "statuses": set(), "records": 0})
                status = map_status(rel)
                if status:
                    entry["statuses"].add(status)
                entry["records"] += 1
        if kind == RecordKind.BAN and subject.get("country") == iso:
            sections["bans"].append(rel["uid"])
        elif kind == RecordKind.CONTRACT and subject.get("country") == iso:
            sections["tenders"].append(rel["uid"])
        elif kind == RecordKind.LOAN:
            sections["loans"].append(rel["uid"])
        elif kind in (RecordKind.INVESTIGATION, RecordKind.COURT_CASE):
            sections["investigations"].append(rel["uid"])
    page_objs = {}
    wanted: list[str] = []
    for key, _label in COUNTRY_SECTIONS:
        page_obj = Paginator(sections.get(key, []), per_page).get_page(pages.get(key, 1))
        page_objs[key] = page_obj
        wanted.extend(page_obj.object_list)
    records = records_by_uuid(wanted)
    out_sections = []
    for key, label in COUNTRY_SECTIONS:
        page_obj = page_objs[key]
        out_sections.append({"key": key, "label": label, "page": page_obj, "page_param": f"{key}_page", "total": page_obj.paginator.count,
                             "records": [records[u] for u in page_obj.object_list if u in records]})
    vendor_list = sorted(vendors.values(), key=lambda v: (-v["records"], v["node"]["name"] or ""))
    for v in vendor_list:
        v["status_labels"] = [MAP_LABELS[s] for s in MAP_STATUSES if s in v["statuses"]]
    return {"vendors": vendor_list, "sections": out_sections}


# --- connections and paths -----------------------------------------------------------

EXPLORER_LIMIT = 150


def connections_data(entity_uid: str, *, kinds: list[str] | None = None, date_from: str | None = None,
                     date_to: str | None = None, as_of: str | None = None) -> dict | None:
    """The one-hop neighbourhood as Cytoscape-ready data: {center, nodes, edges, total,
    truncated}. Labels travel as data and are drawn as text, never as markup."""
    result = queries.explorer_neighbourhood(entity_uid, kinds=kinds, date_from=date_from, date_to=date_to, as_of=as_of,
                                   limit=EXPLORER_LIMIT)
    if result is None:
        return None
    center = result["center"]
    nodes = {center["uid"]: _node_data(center)}
    edges = []
    for item in result["items"]:
        node, rel = item["node"], item["rel"]
        nodes.setdefault(node["uid"], _node_data(node))
        edges.append({
            "id": rel["uid"], "source": rel["from"], "target": rel["to"], "kind": rel["kind"],
            "label": RecordKind(rel["kind"]).label if rel["kind"] in RecordKind.values else rel["kind"],
            "title": rel.get("title") or "", "start": rel.get("start") or "", "end": rel.get("end") or "",
            "status": rel.get("status") or "", "sources": len(rel.get("sources") or []),
            "other": node["uid"],
        })
    return {"center": center["uid"], "nodes": list(nodes.values()), "edges": edges,
            "total": result["total"], "truncated": result["total"] > len(edges)}


def _node_data(node: dict) -> dict:
    return {"id": node["uid"], "label": node.get("name") or "", "kind": node.get("kind") or "",
            "country": node.get("country") or "", "state": bool(node.get("state_owned")) or node.get("kind") == "country"}


def paths_view(a: str, b: str, *, max_hops: int = 4, as_of: str | None = None) -> list[dict]:
    """Shortest paths between two entities, each hop with its record and citations
    (one Cypher query, three SQL queries)."""
    paths = queries.paths_between(a, b, max_hops=max_hops, as_of=as_of)
    records = records_by_uuid(r["uid"] for p in paths for r in p["rels"])
    out = []
    for path in paths:
        hops = []
        nodes = path["nodes"]
        for i, rel in enumerate(path["rels"]):
            hops.append({"from": nodes[i], "to": nodes[i + 1], "rel": rel, "record": records.get(rel["uid"]),
                         "forward": rel["from"] == nodes[i]["uid"]})
        if all(h["record"] is not None for h in hops):
            out.append({"nodes": nodes, "hops": hops})
    return out


# --- timeline ------------------------------------------------------------------------

TIMELINE_KINDS = [RecordKind.CONTRACT, RecordKind.BAN, RecordKind.INVESTIGATION, RecordKind.LOAN,
                  RecordKind.DONATION, RecordKind.COURT_CASE, RecordKind.DEPLOYMENT]


def timeline_page(*, vendor: Entity | None = None, country: str = "", kinds: list[str] | None = None,
                  page: int = 1, per_page: int = 25):
    """Dated records of the timeline kinds in date order (oldest first), filtered."""
    qs = published_records().filter(kind__in=kinds or TIMELINE_KINDS).exclude(start="")
    if vendor is not None:
        qs = qs.filter(Q(subject=vendor) | Q(object=vendor) | Q(party=vendor))
    if country:
        qs = qs.filter(Q(subject__country=country) | Q(object__country=country) | Q(site__country=country))
    qs = qs.order_by("start", "id")
    page_obj = Paginator(qs, per_page).get_page(page)
    page_obj.object_list = list(with_sources(qs)[page_obj.start_index() - 1:page_obj.end_index()]) if page_obj.paginator.count else []
    return page_obj


_ISO2 = re.compile(r"^[A-Z]{2}$")


def valid_country_code(code: str) -> bool:
    return bool(_ISO2.match(code or ""))
