"""Reads behind the browsing pages, the API and exports. Only public data is shown
(`apps.catalog.selectors.visibility` says what that is).

Traversals (ownership chains, neighbourhoods, paths, deployments and country activity) are
answered by Neo4j through graph.queries; details (sources, quotes, titles) by the ORM, in a
bounded number of queries per page whatever the size of the graph.
"""
from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass

from django.core.paginator import Paginator
from django.db import connection
from django.db.models import Case, Count, Exists, F, OuterRef, Prefetch, Q, QuerySet, Value, When, Window
from django.db.models.expressions import RawSQL
from django.db.models.functions import Lower, RowNumber

from apps.catalog.models import Citation, Entity, Record, Source, country_name
from apps.catalog.selectors.store_cache import cached_until_graph_changes, cached_until_store_changes
from apps.catalog.selectors.visibility import (
    RECORD_ENDS,
    current_on,
    public_citations,
    public_entities,
    public_facts,
    public_records,
    public_sources,
)
from apps.catalog.vocab import EntityKind, RecordKind
from graph import queries
# Re-exported so that views and the API catch graph errors without importing graph.
from graph.connection import GraphTimeout, GraphUnavailable  # noqa: F401
from graph.queries import MAX_PATH_HOPS  # noqa: F401

ENDED_STATUSES = queries.ENDED_STATUSES

# --- record cards ------------------------------------------------------------------

_SOURCE_BODY = ("source__text", "source__metadata_quotes")


def with_sources(qs: QuerySet) -> QuerySet:
    """Everything a record card shows, in three queries for any number of records."""
    # A source's text (a whole article or dataset extract) is never shown on a card: leaving
    # it out keeps a page's payload to what it shows.
    citations = (Citation.objects.select_related("source").defer(*_SOURCE_BODY)
                 .order_by("source_id", "id"))  # grouped by source
    # The evidence badge in the card reads `published_followups` (the subject's responses);
    # prefetching it here keeps a page at a fixed number of queries.
    # kind/workflow are compared through Lower() on purpose: as plain equalities SQLite's
    # planner would pick the (unselective) workflow index over the related_id one the prefetch
    # needs (the kind had one too, until catalog 0012).
    statements = (public_records().alias(k=Lower("kind"))
                  .filter(k=RecordKind.STATEMENT).select_related("subject", "object")
                  .prefetch_related(Prefetch("citations", queryset=Citation.objects.select_related("source")
                                             .defer(*_SOURCE_BODY))))
    return qs.select_related("subject", "object", "site", "party").prefetch_related(
        Prefetch("citations", queryset=citations),
        Prefetch("followups", queryset=statements, to_attr="published_followups"),
    )


def records_by_uuid(uuids) -> dict[str, Record]:
    """Published records with their sources, keyed by uuid string (one page's worth)."""
    uuids = [u for u in set(uuids) if u]
    if not uuids:
        return {}
    return {str(r.uuid): r for r in with_sources(public_records().filter(uuid__in=uuids))}


def sources_by_uuid(uuids) -> dict[str, Source]:
    uuids = [u for u in set(uuids) if u]
    if not uuids:
        return {}
    return {str(s.uuid): s for s in public_sources().filter(uuid__in=uuids).defer("text", "metadata_quotes")}



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


def entity_get(uid, *, facts: bool = False) -> Entity | None:
    """A public entity with its public names and entity-level citations (three queries);
    with `facts`, also its public facts (one more), each with `.cites`, its own citations.

    `entity.public_aliases`, `entity.public_citations` (and `entity.public_facts`) carry
    what a reader may see."""
    from apps.catalog.selectors.visibility import public_aliases

    citations = public_citations().filter(record__isnull=True).select_related("source").order_by("id")
    prefetches = [Prefetch("aliases", queryset=public_aliases(), to_attr="public_aliases"),
                  Prefetch("citations", queryset=citations, to_attr="public_citations")]
    if facts:
        prefetches.append(Prefetch("fact_set", queryset=public_facts(), to_attr="public_facts"))
    entity = public_entities().prefetch_related(*prefetches).filter(uuid=uid).first()
    if entity is not None and facts:
        by_fact: dict[int, list[Citation]] = defaultdict(list)
        for citation in entity.public_citations:
            if citation.fact_id:
                by_fact[citation.fact_id].append(citation)
        for fact in entity.public_facts:
            fact.cites = by_fact.get(fact.pk, [])
    return entity


def _group_expression(entity: Entity):
    whens = [When(kind=RecordKind.OWNERSHIP, object_id=entity.pk, then=Value("owners")),
             When(kind=RecordKind.OWNERSHIP, then=Value("holdings"))]
    whens += [When(kind=kind, then=Value(group)) for kind, group in _KIND_GROUP.items()]
    return Case(*whens, default=Value("statements"))


def _naming(entity: Entity, ends=("subject", "object", "site", "party")) -> Q:
    """The records naming `entity` by any of `ends`, as a filter.

    On SQLite the ids come from a UNION of the foreign-key lookups, not an OR: each arm uses
    its own index, where SQLite's planner would otherwise scan a whole table (the records in
    date order, or every entity) and test each row. On PostgreSQL an OR, which it answers
    with one bitmap of the four indexes: given the UNION as `id IN (...)` it preferred, for
    a vendor's 54,000 records, a parallel scan of all 5,000,000 hash-joined to them (2.5 s
    instead of 68 ms for a busy group's page 2 at 1M / 5M)."""
    if connection.vendor == "postgresql":
        found = Q()
        for end in ends:
            found |= Q(**{end: entity})
        return found
    plain = Record.objects.order_by()
    arms = [plain.filter(**{end: entity}).values("pk") for end in ends]
    return Q(pk__in=arms[0].union(*arms[1:]))


def _entity_records(entity: Entity, as_of: str | None) -> QuerySet:
    return (public_records().filter(_naming(entity)).filter(current_on(as_of))
            .annotate(group=_group_expression(entity)))


def entity_record_groups(entity: Entity, *, as_of: str | None = None, per_group: int = PER_GROUP) -> list[dict]:
    """The entity's records by group, the newest `per_group` of each, with totals.

    One query numbers the visible records within each group, newest first, and counts each
    group (window functions), returning only the shown rows with their group's total; the
    shown records are then fetched with their sources. So a page costs the same handful of
    queries and moves `per_group` rows per group to Python, however many records (tens of
    thousands for the busiest vendors) the entity has; the rest are on the group's pages.
    """
    newest = [F("start").desc(), F("id").desc()]
    query = (_entity_records(entity, as_of)
             .annotate(rank=Window(RowNumber(), partition_by=[F("group")], order_by=newest),
                       total=Window(Count("id"), partition_by=[F("group")]))
             .filter(rank__lte=per_group).values_list("id", "group", "total"))
    # Cached until the store changes: for the busiest vendors this query reads every one of
    # their records (tens of thousands), and their pages are the most requested.
    rows = cached_until_store_changes(f"entity-groups:{entity.pk}:{as_of or ''}:{per_group}", lambda: list(query))
    totals: dict[str, int] = {}
    shown: list[int] = []
    for record_id, group, total in rows:
        totals[group] = total
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


# The records of each group: (the kinds, the ends by which they name the entity), as
# _group_expression sorts them (an ownership record naming the entity as object is one of its
# owners; any other ownership record naming it, one of its holdings).
_GROUP_KINDS: dict[str, list[str]] = defaultdict(list)
for _kind, _group in _KIND_GROUP.items():
    _GROUP_KINDS[_group].append(_kind)


def _group_arms(entity: Entity, group: str, as_of: str | None) -> list[QuerySet]:
    """The group's public records current on `as_of`, as one queryset per (end, kind): each
    is answered by that end's index (end, kind, start, id) in the group's display order, so
    a page reads its rows in order and stops (a busy vendor names 50,000 records, 9,000 of
    them in one group). A record naming the entity by two ends is in two arms: union them."""
    if group == "owners":
        pairs = [("object", RecordKind.OWNERSHIP)]
    elif group == "holdings":
        pairs = [(end, RecordKind.OWNERSHIP) for end in ("subject", "site", "party")]
    else:
        pairs = [(end, kind) for end in RECORD_ENDS for kind in _GROUP_KINDS[group]]
    arms = []
    for end, kind in pairs:
        arm = public_records().filter(**{end: entity}, kind=kind).filter(current_on(as_of))
        if group == "holdings" and end != "subject":
            arm = arm.exclude(object=entity)
        arms.append(arm.order_by("-start", "-id").values_list("id", "start"))
    return arms


def _group_page(arms: list[QuerySet], *, offset: int, limit: int) -> QuerySet:
    """The records from `offset` to `offset + limit` of the union of `arms`, newest first.

    Each arm stops after `offset + limit` rows (the most that page can take from one arm);
    the union then drops a record met by two arms. The ids' query is SQL around the arms' own
    compiled SQL because Django refuses sliced arms in a union on SQLite; the arms, and so
    the visibility rule, are still the ORM's. One query with the records' own columns."""
    parts, params = [], []
    for i, arm in enumerate(arms):
        sql, arm_params = arm[:offset + limit].query.sql_with_params()
        parts.append(f"SELECT * FROM ({sql}) AS arm{i}")
        params.extend(arm_params)
    page_sql = ('SELECT "id" FROM (' + " UNION ".join(parts) + ') AS arms'
                ' ORDER BY "start" DESC, "id" DESC LIMIT %s OFFSET %s')
    return (Record.objects.filter(pk__in=RawSQL(page_sql, (*params, limit, offset)))
            .order_by("-start", "-id"))


def entity_group_page(entity: Entity, group: str, *, page: int = 1, as_of: str | None = None, per_page: int = 25):
    """One page of one group of an entity's records (for "show all"), newest first: the
    page's rows are read in order from each end's (end, kind, start, id) index, however
    many records the entity has."""
    arms = _group_arms(entity, group, as_of)
    # The group's total (thousands of records for the busiest vendors) is cached until the
    # store changes, like the entity page's groups.
    total = cached_until_store_changes(
        f"entity-group-count:{entity.pk}:{group}:{as_of or ''}",
        lambda: arms[0].order_by().union(*[arm.order_by() for arm in arms[1:]]).count())
    page_obj = _CountedPaginator(range(total), per_page, count=total).get_page(page)
    page_obj.object_list = []
    if total:
        page_obj.object_list = list(with_sources(_group_page(arms, offset=page_obj.start_index() - 1,
                                                             limit=per_page)))
    return page_obj


class _CountedPaginator(Paginator):
    """A Paginator told its count (Django's counts with a query of its own)."""

    def __init__(self, object_list, per_page, *, count: int):
        super().__init__(object_list, per_page)
        self.__dict__["count"] = count  # Paginator.count is a cached_property


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
    return public_entities().filter(kind=EntityKind.COUNTRY, iso_code=iso).first()


COUNTRY_VENDORS_SHOWN = 100
# A country's snapshot keeps each section's newest COUNTRY_SNAPSHOT_ROWS record uids (its
# first five pages); a page beyond them is computed on request (bounded by the query timeout).
COUNTRY_SNAPSHOT_ROWS = 100


def country_aggregates(iso: str) -> dict:
    """A country's whole-country figures, for its snapshot (apps.catalog.selectors.aggregates):
    {"vendors": {total, vendors}, "sections": {key: {total, page: [the newest uids]}}}. Two
    Cypher queries that read every relationship of every entity of the country (seconds at a
    million entities): the refresh task runs them, not a reader's request."""
    return {"vendors": queries.country_vendors(iso, limit=COUNTRY_VENDORS_SHOWN),
            "sections": queries.country_sections(iso, offsets={}, per_page=COUNTRY_SNAPSHOT_ROWS)}


def country_view(iso: str, *, as_of: str | None = None, pages: dict[str, int] | None = None,
                 per_page: int = 20) -> dict:
    """What happened in a country: the vendors present there (deployed, contracted, donated;
    the COUNTRY_VENDORS_SHOWN with the most records, out of `vendor_total`), the bans it
    enacted, its tenders, loans, investigations and court cases (each section counted in
    full and paginated), and the `snapshot` the figures come from.

    Today's figures come from the country's snapshot, refreshed by a task after the graph
    changes (`snapshot.refreshing`: they are as of `snapshot.computed_at`; `snapshot.pending`:
    none yet, being computed). On a past date (`as_of`) the two aggregating queries run for
    the request, cached until the graph changes and bounded by NEO4J_QUERY_TIMEOUT."""
    from apps.catalog.selectors import aggregates

    pages = pages or {}
    wanted = {key: max(1, pages.get(key, 1)) for key, _label in COUNTRY_SECTIONS}
    if as_of:
        figures = cached_until_graph_changes(f"country-aggregates:{iso}:{as_of}", lambda: {
            "vendors": queries.country_vendors(iso, as_of=as_of, limit=COUNTRY_VENDORS_SHOWN),
            "sections": queries.country_sections(iso, as_of=as_of, offsets={}, per_page=COUNTRY_SNAPSHOT_ROWS)})
        snapshot = aggregates.Snapshot(value=figures)
    else:
        snapshot = aggregates.snapshot_get(aggregates.country_scope(iso))
        figures = snapshot.value or {"vendors": {"total": 0, "vendors": []}, "sections": {}}
    stored = figures["sections"]
    page_objs = {key: Paginator(range(stored.get(key, {}).get("total", 0)), per_page).get_page(wanted[key])
                 for key in wanted}
    offsets = {key: page_obj.start_index() - 1 if page_obj.paginator.count else 0 for key, page_obj in page_objs.items()}
    uids = {key: stored.get(key, {}).get("page", [])[offsets[key]:offsets[key] + per_page] for key in wanted}
    deeper = [key for key in wanted if len(stored.get(key, {}).get("page", [])) < page_objs[key].paginator.count
              and offsets[key] + per_page > len(stored.get(key, {}).get("page", []))]
    if deeper:  # a page past the snapshot's rows: that page's uids for the request
        sections = cached_until_graph_changes(
            f"country-sections:{iso}:{as_of or ''}:{per_page}:" + ",".join(f"{k}={v}" for k, v in sorted(offsets.items())),
            lambda: queries.country_sections(iso, as_of=as_of, per_page=per_page, offsets=offsets))
        uids.update({key: sections.get(key, {}).get("page", []) for key in deeper})
    records = records_by_uuid(uid for section in uids.values() for uid in section)
    out_sections = []
    for key, label in COUNTRY_SECTIONS:
        page_obj = page_objs[key]
        out_sections.append({"key": key, "label": label, "page": page_obj, "page_param": f"{key}_page",
                             "total": page_obj.paginator.count, "records": [records[u] for u in uids[key] if u in records]})
    vendor_list = []
    for vendor in figures["vendors"]["vendors"]:
        statuses = {map_status({"kind": kind, "status": status}) for kind, status in vendor["statuses"]}
        vendor_list.append({"node": vendor["node"], "records": vendor["records"],
                            "status_labels": [MAP_LABELS[s] for s in MAP_STATUSES if s in statuses]})
    return {"vendors": vendor_list, "vendor_total": figures["vendors"]["total"], "sections": out_sections,
            "snapshot": snapshot}


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


def _timeline_records(*, vendor: Entity | None, country: str, kinds: list[str] | None) -> QuerySet:
    qs = public_records().filter(kind__in=kinds or TIMELINE_KINDS)
    if vendor is not None:
        qs = qs.filter(_naming(vendor, ("subject", "object", "party")))
    if country:
        qs = qs.filter(Q(subject__country=country) | Q(object__country=country) | Q(site__country=country))
    return qs


TIMELINE_COUNT_CAP = 1_000


class CappedPage:
    """One page of a long ordered list whose total is counted only up to `cap` rows.

    Counting every match of the unfiltered timeline (most of the catalogue) would cost more
    than the page itself; so the page fetches one row more than it shows to know whether a
    next page exists, and counts at most `cap + 1` rows. `paginator.count` and
    `paginator.num_pages` are exact up to the cap; beyond it `paginator.capped` is True,
    `num_pages` None and the pager says "Page N" without a total. Quacks like Django's Page
    for the shared pager template.
    """

    def __init__(self, qs: QuerySet, *, number: int, per_page: int, cap: int, fetch=lambda qs: qs,
                 cache_key: str | None = None):
        """`cache_key`: the page's ids and the count are cached until the store changes
        (apps.catalog.selectors.store_cache), for lists that read many rows to find a page."""
        def memo(name, compute):
            return cached_until_store_changes(f"{cache_key}:{name}", compute) if cache_key else compute()

        def page_ids(offset):
            return memo(f"ids:{offset}:{per_page}",
                        lambda: list(qs.values_list("pk", flat=True)[offset:offset + per_page + 1]))

        def count():
            return memo(f"count:{cap}", lambda: qs.order_by()[:cap + 1].count())

        self.number = max(1, number)
        offset = (self.number - 1) * per_page
        # The page's ids first (the list's own query, no joins for the planner to start
        # from), then its rows with whatever `fetch` adds, in the list's order.
        ids = page_ids(offset)
        if not ids and self.number > 1:  # past the end: the last page, as Paginator.get_page does
            total = count()
            last = max(1, -(-min(total, cap) // per_page))
            self.number, offset = last, (last - 1) * per_page
            ids = page_ids(offset)
        self.has_next = len(ids) > per_page
        ids = ids[:per_page]
        by_id = {row.pk: row for row in fetch(qs.model.objects.filter(pk__in=ids))}
        self.object_list = [by_id[pk] for pk in ids if pk in by_id]
        if self.number == 1 and not self.has_next:
            total = len(self.object_list)  # the whole list is on this page: nothing to count
        else:
            total = count()
        capped = total > cap
        self.paginator = _CappedPaginator(count=min(total, cap), capped=capped,
                                          num_pages=None if capped else max(1, -(-total // per_page)))

    @property
    def has_previous(self) -> bool:
        return self.number > 1

    def has_other_pages(self) -> bool:
        return self.has_previous or self.has_next

    def next_page_number(self) -> int:
        return self.number + 1

    def previous_page_number(self) -> int:
        return self.number - 1


@dataclass
class _CappedPaginator:
    count: int
    capped: bool
    num_pages: int | None


def timeline_page(*, vendor: Entity | None = None, country: str = "", kinds: list[str] | None = None,
                  page: int = 1, per_page: int = 25) -> CappedPage:
    """Dated records of the timeline kinds in date order (oldest first), filtered; totals
    counted up to TIMELINE_COUNT_CAP (see CappedPage)."""
    kinds = kinds or TIMELINE_KINDS
    if vendor is None and not country:
        # Unfiltered: walk the records in date order (index record_start_id) and test each
        # one's visibility as it comes, stopping after a page. Joined to the entities for the
        # rule instead, SQLite's planner starts from every published entity and sorts the
        # whole catalogue before it can show the first page.
        # (`start > ''` rather than "not empty": a range of the index, skipping the undated.)
        qs = (Record.objects.filter(kind__in=kinds, start__gt="")
              .filter(Exists(public_records().filter(pk=OuterRef("pk")))))
        cache_key = f"timeline::all:{','.join(sorted(kinds))}"
    else:
        qs = _timeline_records(vendor=vendor, country=country, kinds=kinds).filter(start__gt="")
        # A busy vendor's or a country's timeline sorts all of its records to find a page.
        cache_key = f"timeline:{vendor.pk if vendor else ''}:{country}:{','.join(sorted(kinds))}"
    return CappedPage(qs.order_by("start", "id"), number=page, per_page=per_page, cap=TIMELINE_COUNT_CAP,
                      fetch=with_sources, cache_key=cache_key)


def timeline_undated(*, vendor: Entity | None = None, country: str = "", kinds: list[str] | None = None,
                     limit: int = 50) -> tuple[int, list[Record]]:
    """(how many, the first `limit`) records of the same filter whose sources give no date
    (e.g. a restriction list without dates): listed apart, never placed at an invented date."""
    qs = _timeline_records(vendor=vendor, country=country, kinds=kinds).filter(start="").order_by("kind", "id")
    count = qs.count()
    return count, (list(with_sources(qs)[:limit]) if count else [])


_ISO2 = re.compile(r"^[A-Z]{2}$")


def valid_country_code(code: str) -> bool:
    return bool(_ISO2.match(code or ""))


# --- exports -------------------------------------------------------------------------

def neighbourhood_records(entity: Entity, *, depth: int = 1) -> QuerySet:
    """Public records within `depth` (1 or 2) hops of `entity` (the hops found by Neo4j)."""
    uids = queries.neighbourhood(str(entity.uuid), depth=depth)
    return public_records().filter(uuid__in=uids).select_related("subject", "object", "site", "party")


def records_of_entities(entities) -> QuerySet:
    """Public records naming any of `entities` as subject or object."""
    ids = [e.pk for e in entities]
    return public_records().filter(Q(subject__in=ids) | Q(object__in=ids)).select_related(
        "subject", "object", "site", "party")


# --- raw traversals for the API (the same queries and rule as the pages) ---------------

RECORD_KINDS_IN_GRAPH = tuple(queries.REL_TYPES)


def ownership_chains(entity: Entity, *, as_of: str | None = None) -> list[dict]:
    return queries.ownership_chains(str(entity.uuid), as_of=as_of)["chains"]


def ownership_edges_down(entity: Entity, *, as_of: str | None = None) -> list[dict]:
    return queries.ownership_edges(str(entity.uuid), direction="down", as_of=as_of)


def footprint_rows(entity: Entity, *, as_of: str | None = None) -> list[dict]:
    """The deployment map's rows, each with the `map_status` the map colours it with."""
    return [{**row, "map_status": map_status(row["rel"])}
            for row in queries.vendor_footprint(str(entity.uuid), as_of=as_of)]


def path_rows(a: Entity, b: Entity, *, kinds: list[str] | None = None, max_hops: int = MAX_PATH_HOPS,
              limit: int = 50) -> list[dict]:
    return queries.paths_between(str(a.uuid), str(b.uuid), kinds=kinds or None, max_hops=max_hops, limit=limit)
