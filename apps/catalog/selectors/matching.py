"""The one home of "might these two entities be the same?": blocking and scoring, shared by
import matching (apps.ingest.services.match_candidates_propose) and the duplicates page
(apps.curation.selectors.duplicate_page).

Blocking: each entity's names give a few keys (apps.catalog.text.name_keys: the words of
the name without its legal form, and typo-tolerant forms of its first word), stored in the
indexed NameKey table. Two entities are compared only when they share a key and a kind, so
finding candidates is an index lookup whatever the size of the catalogue; a key shared by
more than MAX_BLOCK entities ("systems", "trading") says too little and is skipped.
Scoring: rapidfuzz on the core names (legal forms removed), best pair of names.
Rules: the kind agrees (part of the block), the country agrees where both have one, a
retracted entity is never offered, and a pair already judged (MergeDecision) never comes back.
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from itertools import combinations

from django.db.models import Count, Q
from rapidfuzz import fuzz

from apps.catalog.models import Alias, Entity, NameKey
from apps.catalog.text import TYPO_KEY, core_name, name_keys
from apps.catalog.vocab import Workflow

THRESHOLD = 85.0
MAX_BLOCK = 100
_FIRST_BATCH = 25  # blocks read by a page's first query (about 80 pairs at 1M entities); doubled while the page is not full
_MAX_BLOCKS_PER_PAGE = 2000  # a page reads at most this many blocks: its cost is bounded


@dataclass
class Candidate:
    a: Entity
    b: Entity
    score: float
    names: tuple[str, str]  # the two core names that matched best


def name_score(names_a: list[str], names_b: list[str]) -> tuple[float, tuple[str, str]]:
    """The best similarity (0-100) between any name of one and any name of the other,
    compared on their core names ("Nuctech Co., Ltd." is "nuctech")."""
    best, pair = 0.0, ("", "")
    cores_b = {core_name(n) for n in names_b if n}
    for x in {core_name(n) for n in names_a if n}:
        for y in cores_b:
            score = 100.0 if x == y else fuzz.WRatio(x, y, score_cutoff=50)
            if score > best:
                best, pair = score, (x, y)
    return round(best, 1), pair


def _names(entities: dict[int, Entity]) -> dict[int, list[str]]:
    return _names_of({pk: e.name for pk, e in entities.items()})


def _names_of(names_by_pk: dict[int, str]) -> dict[int, list[str]]:
    """Each entity's name (given) and its names (aliases) not retracted."""
    entities = names_by_pk
    names = {pk: [name] for pk, name in names_by_pk.items()}
    for pk, name in (Alias.objects.filter(entity_id__in=list(entities)).exclude(workflow=Workflow.RETRACTED)
                     .values_list("entity_id", "name")):
        names[pk].append(name)
    return names


def candidates_for(entity: Entity, *, exclude_ids=(), threshold: float = THRESHOLD,
                   limit: int = 10) -> list[Candidate]:
    """The entities that may be the same as `entity`: sharing a blocking key and its kind,
    the country agreeing, scoring at least `threshold`, never judged before. Best first."""
    return candidates_for_many([entity], exclude_ids=exclude_ids, threshold=threshold, limit=limit)[entity.pk]


_IN = 5000  # values per `IN (...)` list: within SQLite's and PostgreSQL's limits on parameters


def _slices(values) -> list[list]:
    values = list(values)
    return [values[i:i + _IN] for i in range(0, len(values), _IN)]


def candidates_for_many(entities: list[Entity], *, exclude_ids=(), threshold: float = THRESHOLD,
                        limit: int = 10) -> dict[int, list[Candidate]]:
    """candidates_for of many entities at once ({pk: candidates}), set-based: the blocks of
    all of them are sized and read once (a block shared by many of them is read once), the
    candidates and their names loaded in a few queries, the judged pairs in one; then each
    entity's candidates are scored as candidates_for scores them. An import proposes its
    matches a batch of thousands of entities at a time."""
    entities = [e for e in entities if e.pk is not None]
    out: dict[int, list[Candidate]] = {e.pk: [] for e in entities}
    if not entities:
        return out
    exclude = set(exclude_ids)
    names = _names({e.pk: e for e in entities})
    keys = {e.pk: set().union(*(name_keys(n) for n in names[e.pk])) for e in entities}
    wanted = {(key, e.kind) for e in entities for key in keys[e.pk]}
    if not wanted:
        return out
    all_keys, kinds = {key for key, _ in wanted}, {kind for _, kind in wanted}
    usable = set()
    for part in _slices(all_keys):
        usable.update((key, kind) for key, kind, n in NameKey.objects.filter(kind__in=kinds, key__in=part)
                      .values("key", "kind").annotate(n=Count("id")).values_list("key", "kind", "n")
                      if (key, kind) in wanted and n <= MAX_BLOCK * 5)
    members: dict[tuple[str, str], set[int]] = {}
    for part in _slices({key for key, _ in usable}):
        for key, kind, pk in NameKey.objects.filter(kind__in=kinds, key__in=part).values_list("key", "kind",
                                                                                              "entity_id"):
            if (key, kind) in usable:
                members.setdefault((key, kind), set()).add(pk)
    found_ids = {e.pk: set().union(*(members.get((key, e.kind), ()) for key in keys[e.pk])) - {e.pk} - exclude
                 for e in entities}
    # The candidates as plain rows (pk -> uuid, kind, name, country): only the ones that
    # score are loaded as entities, at the end.
    others: dict[int, tuple] = {}
    for part in _slices(set().union(*found_ids.values())):
        others.update((row[0], row[1:]) for row in Entity.objects.filter(pk__in=part).exclude(
            workflow=Workflow.RETRACTED).values_list("pk", "uuid", "kind", "name", "country"))
    if not others:
        return out
    for part in _slices(others):
        names.update(_names_of({pk: others[pk][2] for pk in part}))
    judged = judged_pairs_between([e.uuid for e in entities])
    scored: dict[int, list[tuple[float, int, tuple[str, str]]]] = {}
    for entity in entities:
        mine = str(entity.uuid)
        for pk in found_ids[entity.pk]:
            row = others.get(pk)
            if row is None:
                continue
            uid, kind, _, country = row
            if (kind != entity.kind or (entity.country and country and entity.country != country)
                    or tuple(sorted([mine, str(uid)])) in judged):
                continue
            score, pair = name_score(names[entity.pk], names[pk])
            if score >= threshold:
                scored.setdefault(entity.pk, []).append((score, pk, pair))
    loaded = Entity.objects.only("id", "uuid", "kind", "name", "country", "workflow").in_bulk(
        {pk for hits in scored.values() for _, pk, _ in hits})
    for entity in entities:
        found = [Candidate(a=entity, b=loaded[pk], score=score, names=pair)
                 for score, pk, pair in scored.get(entity.pk, []) if pk in loaded]
        found.sort(key=lambda c: (-c.score, c.b.name))
        out[entity.pk] = found[:limit]
    return out


def judged_pairs_between(uuids) -> set[tuple[str, str]]:
    """The pairs a curator already judged (by uuid string, smaller first) with a side among `uuids`."""
    from apps.curation.models import MergeDecision

    rows = set()
    for part in _slices(uuids):
        rows.update(MergeDecision.objects.filter(Q(entity_a__in=part) | Q(entity_b__in=part))
                    .values_list("entity_a", "entity_b"))
    return {(str(a), str(b)) for a, b in rows}


@dataclass
class DuplicatePage:
    candidates: list[Candidate]
    next_after: str  # the cursor of the next page ("" at the end)
    blocks_read: int


def duplicate_page(*, after: str = "", per_page: int = 25, threshold: float = THRESHOLD) -> DuplicatePage:
    """One page of likely duplicates, in blocking-key order from the cursor `after`.

    Reads shared blocks (2 to MAX_BLOCK entities with one key and kind) through the index,
    a batch at a time, and scores the pairs inside each on plain rows; a pair sharing several
    keys is reported once, under its first key. Stops when the page is full (or after a
    bounded number of blocks, the cursor then pointing on: a page may show fewer pairs, its
    "next" link more), so a page costs about the same at 100 entities or a million. Only the pairs found are loaded as entities."""
    found: list[tuple[float, int, int, tuple[str, str]]] = []
    cursor = after
    blocks_read, batch = 0, _FIRST_BATCH
    while blocks_read < _MAX_BLOCKS_PER_PAGE:
        groups = list(NameKey.objects.filter(key__gt=cursor).values("key", "kind")
                      .annotate(n=Count("entity_id"), heads=Count("head", distinct=True))
                      .filter(Q(n__gte=2, n__lte=MAX_BLOCK) & (Q(heads__gte=2) | ~Q(key__startswith=TYPO_KEY)))
                      .order_by("key", "kind")
                      .values_list("key", "kind")[:batch])
        if not groups:
            cursor = ""
            break
        if len(groups) == batch and groups[0][0] != groups[-1][0]:
            last = groups[-1][0]  # the last key may have more kinds in the next batch: read it whole then
            groups = [g for g in groups if g[0] != last]
        blocks_read += len(groups)
        found.extend(_score_blocks(groups, threshold))
        cursor = groups[-1][0]
        if len(found) >= per_page:
            break
        batch = min(batch * 2, _MAX_BLOCKS_PER_PAGE - blocks_read) or 1
    entities = Entity.objects.in_bulk({pk for _, x, y, _ in found for pk in (x, y)})
    candidates = [Candidate(a=entities[x], b=entities[y], score=score, names=names)
                  for score, x, y, names in found if x in entities and y in entities]
    candidates.sort(key=lambda c: (-c.score, c.a.name))
    return DuplicatePage(candidates=candidates, next_after=cursor, blocks_read=blocks_read)


def _score_blocks(groups: list[tuple[str, str]], threshold: float) -> list[tuple[float, int, int, tuple[str, str]]]:
    """(score, id, id, names) of the pairs scoring at least `threshold` in these blocks, on plain rows."""
    from apps.curation.models import MergeDecision

    wanted = set(groups)
    members: dict[tuple[str, str], list[int]] = {}
    for key, kind, pk in (NameKey.objects.filter(key__in={k for k, _ in groups})
                          .values_list("key", "kind", "entity_id")):
        if (key, kind) in wanted:
            members.setdefault((key, kind), set()).add(pk)
    rows = {pk: (str(uid), country) for pk, uid, country in Entity.objects.filter(
        pk__in={pk for ids in members.values() for pk in ids}).exclude(workflow=Workflow.RETRACTED)
        .values_list("pk", "uuid", "country")}
    names = {pk: [] for pk in rows}
    for pk, name in Entity.objects.filter(pk__in=list(rows)).values_list("pk", "name"):
        names[pk].append(name)
    for pk, name in (Alias.objects.filter(entity_id__in=list(rows)).exclude(workflow=Workflow.RETRACTED)
                     .values_list("entity_id", "name")):
        names[pk].append(name)
    keys = {pk: frozenset().union(*(_keys(n) for n in ns)) for pk, ns in names.items()}
    pairs = []
    for (key, kind), ids in sorted(members.items()):
        for x, y in combinations(sorted(ids), 2):
            if x not in rows or y not in rows:
                continue
            (ux, cx), (uy, cy) = rows[x], rows[y]
            if not (cx and cy and cx != cy):
                pairs.append((x, y, kind, [k for k in keys[x] & keys[y] if k < key]))
    # A pair sharing several keys is reported under the first of them whose block is read
    # (a block too large is not), so that following "next" shows it once.
    earlier = {k for *_, ks in pairs for k in ks}
    read = set()
    if earlier:
        for key, kind, n, heads in (NameKey.objects.filter(key__in=earlier).values("key", "kind")
                                    .annotate(n=Count("entity_id"), heads=Count("head", distinct=True))
                                    .values_list("key", "kind", "n", "heads")):
            if 2 <= n <= MAX_BLOCK and (heads >= 2 or not key.startswith(TYPO_KEY)):
                read.add((key, kind))
    found = []
    for x, y, kind, ks in pairs:
        if any((k, kind) in read for k in ks):
            continue
        score, pair = name_score(names[x], names[y])
        if score >= threshold:
            found.append((score, x, y, pair))
    if found:  # pairs already judged never come back
        uuids = {rows[pk][0] for _, x, y, _ in found for pk in (x, y)}
        judged = {(str(a), str(b)) for a, b in MergeDecision.objects.filter(
            entity_a__in=uuids, entity_b__in=uuids).values_list("entity_a", "entity_b")}
        found = [f for f in found if tuple(sorted([rows[f[1]][0], rows[f[2]][0]])) not in judged]
    return found


@lru_cache(maxsize=65536)
def _keys(name: str) -> frozenset[str]:
    return frozenset(name_keys(name))
