"""Read queries answered by Neo4j. Cypher is built from module constants; user input only
ever travels as $parameters. Labels and relationship types come from graph.models."""
from __future__ import annotations

# Every query here is a read traversal for a page or the API: bounded by NEO4J_QUERY_TIMEOUT.
from graph.connection import run_read as run
from graph.models import REL_TYPES

MAX_CHAIN_DEPTH = 12
MAX_PATH_HOPS = 6

# --- Browsing (search pages, chains, deployments, explorer, paths) -----------------------
# Shared predicates. A record is visible when published; with $as_of it must also be
# current on that date. Partial dates ("2021", "2021-03", "2021-03-04") compare as strings:
# a prefix sorts before its extensions, so `start <= $as_of` holds for a start in the same
# year or month, and the end is compared with $as_of cut to the end's own precision, so an
# end of "2023" keeps the record current through 31 December 2023. A record whose status
# says it is over but whose end date is unknown cannot be placed on a date: it is not
# shown as current.
ENDED_STATUSES = ["ended", "former", "removed", "repaid", "lifted", "annulled", "expired"]

# The visibility rule of apps.catalog.selectors.visibility, in Cypher (its one graph form):
# a record is public when published and every entity it names -- both ends, the site and
# the party -- is published.
_ENTITY_PUBLIC = "{n}.workflow = 'published'"
# The rule in parts, for the path finder (below); _REL_PUBLIC is their conjunction.
_REL_PUBLISHED = "r.workflow = 'published'"
_REL_ENDS_PUBLIC = "startNode(r).workflow = 'published' AND endNode(r).workflow = 'published'"
_REL_SITE_PARTY_PUBLIC = """(r.site IS NULL OR EXISTS { MATCH (pub_site:Entity {uid: r.site}) WHERE pub_site.workflow = 'published' })
  AND (r.party IS NULL OR EXISTS { MATCH (pub_party:Entity {uid: r.party}) WHERE pub_party.workflow = 'published' })"""
_REL_PUBLIC = f"""($published_only = false OR ({_REL_PUBLISHED}
  AND {_REL_ENDS_PUBLIC}
  AND {_REL_SITE_PARTY_PUBLIC}))"""
_REL_CURRENT = """($as_of IS NULL OR ((r.start IS NULL OR r.start <= $as_of)
       AND (r.end IS NULL OR r.end >= left($as_of, size(r.end)))
       AND NOT (r.end IS NULL AND coalesce(r.status, '') IN $ended_statuses)))"""
_REL_VISIBLE = _REL_PUBLIC + "\n  AND " + _REL_CURRENT
_NODE_VISIBLE = "($published_only = false OR " + _ENTITY_PUBLIC + ")"
# Overlap of a record's [start, end] with the range [$date_from, $date_to] (either open).
_REL_IN_RANGE = """($date_to IS NULL OR r.start IS NULL OR r.start <= $date_to)
  AND ($date_from IS NULL OR r.end IS NULL OR r.end >= left($date_from, size(r.end)))"""

_NODE_MAP = "{{uid: {n}.uid, name: {n}.name, kind: {n}.kind, country: {n}.country, state_owned: {n}.state_owned}}"
_REL_MAP = """{uid: r.uid, kind: r.kind, type: type(r), title: r.title, start: r.start, end: r.end,
  amount: r.amount, currency: r.currency, share_pct: r.share_pct, status: r.status, direct: r.direct,
  state_control: r.state_control, site: r.site, party: r.party, sources: r.sources,
  from: startNode(r).uid, to: endNode(r).uid}"""

MAX_TREE_EDGES = 500

# Every ownership/control edge above an entity (the union of all its upward chains). The
# chains themselves are assembled in Python (graph.queries.ownership_chains), which also
# cuts cycles; here a path never repeats a relationship and the depth is bounded.
OWNERSHIP_UP_EDGES = f"""
MATCH (start:Entity {{uid: $uid}})
MATCH p = (:Entity)-[:OWNS*1..{MAX_CHAIN_DEPTH}]->(start)
WHERE all(r IN relationships(p) WHERE {_REL_VISIBLE})
  AND all(n IN nodes(p) WHERE {_NODE_VISIBLE.format(n='n')})
UNWIND relationships(p) AS r
WITH DISTINCT r LIMIT $limit
WITH r, startNode(r) AS a, endNode(r) AS b
RETURN {_NODE_MAP.format(n='a')} AS owner, {_NODE_MAP.format(n='b')} AS owned, {_REL_MAP} AS rel
"""

OWNERSHIP_DOWN_EDGES = f"""
MATCH (start:Entity {{uid: $uid}})
MATCH p = (start)-[:OWNS*1..{MAX_CHAIN_DEPTH}]->(:Entity)
WHERE all(r IN relationships(p) WHERE {_REL_VISIBLE})
  AND all(n IN nodes(p) WHERE {_NODE_VISIBLE.format(n='n')})
UNWIND relationships(p) AS r
WITH DISTINCT r LIMIT $limit
WITH r, startNode(r) AS a, endNode(r) AS b
RETURN {_NODE_MAP.format(n='a')} AS owner, {_NODE_MAP.format(n='b')} AS owned, {_REL_MAP} AS rel
"""

# The same edges, the expansion testing only what each step carries itself (see
# ownership_edges); `visible` tells whether the edge's site and party are public too.
_OWNERSHIP_FAST = """
MATCH (start:Entity {{uid: $uid}})
MATCH p = {pattern}
WHERE all(r IN relationships(p) WHERE ($published_only = false OR {published}) AND {current})
  AND all(n IN nodes(p) WHERE {node})
UNWIND relationships(p) AS r
WITH DISTINCT r LIMIT $limit
WITH r, startNode(r) AS a, endNode(r) AS b
RETURN {owner} AS owner, {owned} AS owned, {rel} AS rel,
       ($published_only = false OR ({site_party})) AS visible
"""
OWNERSHIP_UP_FAST, OWNERSHIP_DOWN_FAST = (
    _OWNERSHIP_FAST.format(pattern=pattern, published=_REL_PUBLISHED, current=_REL_CURRENT,
                           node=_NODE_VISIBLE.format(n="n"), owner=_NODE_MAP.format(n="a"),
                           owned=_NODE_MAP.format(n="b"), rel=_REL_MAP, site_party=_REL_SITE_PARTY_PUBLIC)
    for pattern in (f"(:Entity)-[:OWNS*1..{MAX_CHAIN_DEPTH}]->(start)", f"(start)-[:OWNS*1..{MAX_CHAIN_DEPTH}]->(:Entity)"))

# A vendor's footprint by country: deployments, donations, contracts (the buyer's side) and
# bans (the authority's side). The place is the counterpart when it is a country, site or
# public body with a country, else the record's site, else the counterpart's country.
_FOOTPRINT_BODY = f"""
CALL {{
  WITH v
  MATCH (v)-[r:DEPLOYED_IN|DONATED_TO]->(x:Entity)
  RETURN r, x
  UNION
  WITH v
  MATCH (x:Entity)-[r:CONTRACTED|BANNED]->(v)
  RETURN r, x
}}
WITH v, r, x WHERE {_REL_VISIBLE} AND {_NODE_VISIBLE.format(n='x')}
OPTIONAL MATCH (site:Entity {{uid: r.site}}) WHERE {_NODE_VISIBLE.format(n='site')}
WITH v, r, x, site,
     CASE WHEN x.kind IN ['country', 'site', 'public_body'] AND x.country IS NOT NULL THEN x.country
          WHEN site IS NOT NULL AND site.country IS NOT NULL THEN site.country ELSE x.country END AS country
WHERE country IS NOT NULL
RETURN country, {_REL_MAP} AS rel, {_NODE_MAP.format(n='x')} AS counterpart,
       CASE WHEN site IS NOT NULL THEN site.name WHEN x.kind = 'site' THEN x.name END AS site_name,
       CASE WHEN site IS NOT NULL THEN site.uid WHEN x.kind = 'site' THEN x.uid END AS site_uid,
       {_NODE_MAP.format(n='v')} AS vendor
"""
VENDOR_FOOTPRINT = f"""
MATCH (v:Entity {{uid: $uid}})
{_FOOTPRINT_BODY}
ORDER BY country, coalesce(r.start, '')
LIMIT $limit
"""

# Every company's footprint at once (the vendors list, the matrix, the home page's map):
# the same rows as VENDOR_FOOTPRINT, each with its `vendor`.
ALL_VENDOR_FOOTPRINTS = f"""
MATCH (v:Company)
WHERE {_NODE_VISIBLE.format(n='v')}
{_FOOTPRINT_BODY}
ORDER BY vendor.name, country, coalesce(r.start, '')
LIMIT $limit
"""

# A country page in two aggregating queries, so that its cost in transfer does not grow with
# the country's activity: the vendors present (a vendor deployed in, donating to or
# contracted by an entity of the country), counted and ranked in Neo4j with the distinct
# (kind, status) pairs that colour them; and the page's sections, each counted in full with
# only the requested page of record uids returned (newest first).
COUNTRY_VENDORS = f"""
MATCH (x:Entity {{country: $iso}})
WHERE {_NODE_VISIBLE.format(n='x')}
CALL {{
  WITH x
  MATCH (v:Entity)-[r:DEPLOYED_IN|DONATED_TO]->(x)
  RETURN r, v
  UNION
  WITH x
  MATCH (x)-[r:CONTRACTED]->(v:Entity)
  RETURN r, v
}}
WITH r, v WHERE {_REL_VISIBLE} AND {_NODE_VISIBLE.format(n='v')}
WITH v, collect(DISTINCT [r.kind, coalesce(r.status, '')]) AS statuses, count(DISTINCT r) AS records
ORDER BY records DESC, v.name
WITH collect({{node: {_NODE_MAP.format(n='v')}, statuses: statuses, records: records}}) AS vendors
RETURN size(vendors) AS total, vendors[..$limit] AS vendors
"""

# Sections: bans the country's entities enacted, tenders they awarded, loans and
# investigations or court cases naming any of them.
COUNTRY_SECTIONS = f"""
MATCH (x:Entity {{country: $iso}})
WHERE {_NODE_VISIBLE.format(n='x')}
CALL {{
  WITH x
  MATCH (x)-[r:BANNED]->(:Entity)
  RETURN r, 'bans' AS section
  UNION
  WITH x
  MATCH (x)-[r:CONTRACTED]->(:Entity)
  RETURN r, 'tenders' AS section
  UNION
  WITH x
  MATCH (x)-[r:LENT_TO]-(:Entity)
  RETURN r, 'loans' AS section
  UNION
  WITH x
  MATCH (x)-[r:INVESTIGATED|RULED_ON]-(:Entity)
  RETURN r, 'investigations' AS section
}}
WITH DISTINCT r, section
WHERE {_REL_VISIBLE}
WITH section, r ORDER BY coalesce(r.start, '') DESC, r.uid
WITH section, collect(r.uid) AS uids
WITH section, uids, coalesce($offsets[section], 0) AS skip
RETURN section, size(uids) AS total, uids[skip..skip + $per_page] AS page
"""

# One entity's neighbourhood for the connections explorer (one hop, newest first).
EXPLORER_NEIGHBOURHOOD = f"""
MATCH (e:Entity {{uid: $uid}})
WHERE {_NODE_VISIBLE.format(n='e')}
OPTIONAL MATCH (e)-[r]-(n:Entity)
WHERE type(r) IN $types AND {_REL_VISIBLE} AND {_REL_IN_RANGE} AND {_NODE_VISIBLE.format(n='n')}
WITH e, r, n ORDER BY coalesce(r.start, '') DESC
WITH e, collect({{rel: {_REL_MAP}, node: {_NODE_MAP.format(n='n')}}})[..$limit] AS items, count(r) AS total
RETURN {_NODE_MAP.format(n='e')} AS center, [i IN items WHERE i.rel.uid IS NOT NULL] AS items, total
"""

# Shortest paths in one Cypher query per bound (a variable-length bound cannot be a
# parameter), Neo4j's own allShortestPaths under the whole rule. The path finder (below)
# hands over to these when both sides of its search have a hub to cross.
SHORTEST_PATHS_BOUNDED = {
    hops: f"""
MATCH (a:Entity {{uid: $a}}), (b:Entity {{uid: $b}})
MATCH p = allShortestPaths((a)-[*..{hops}]-(b))
WHERE all(r IN relationships(p) WHERE type(r) IN $types AND {_REL_VISIBLE})
  AND all(n IN nodes(p) WHERE {_NODE_VISIBLE.format(n='n')})
RETURN [n IN nodes(p) | {_NODE_MAP.format(n='n')}] AS nodes,
       [r IN relationships(p) | {_REL_MAP}] AS rels
LIMIT $limit
"""
    for hops in range(1, MAX_PATH_HOPS + 1)
}
# The same answer, usually much faster: the search for shortest paths tests only what a
# relationship and the nodes on the path carry themselves (published, current, the types),
# which Neo4j checks while it expands; the rest of the rule (a published site and party,
# two index look-ups each) is then tested on the few paths found (`visible`).
SHORTEST_PATHS_FAST = {
    hops: f"""
MATCH (a:Entity {{uid: $a}}), (b:Entity {{uid: $b}})
MATCH p = allShortestPaths((a)-[*..{hops}]-(b))
WHERE all(r IN relationships(p) WHERE type(r) IN $types AND ($published_only = false OR {_REL_PUBLISHED})
                                  AND {_REL_CURRENT})
  AND all(n IN nodes(p) WHERE {_NODE_VISIBLE.format(n='n')})
WITH p LIMIT $limit
RETURN [n IN nodes(p) | {_NODE_MAP.format(n='n')}] AS nodes,
       [r IN relationships(p) | {_REL_MAP}] AS rels,
       all(r IN relationships(p) WHERE $published_only = false OR ({_REL_SITE_PARTY_PUBLIC})) AS visible
"""
    for hops in range(1, MAX_PATH_HOPS + 1)
}

# --- The path finder: a bidirectional breadth-first search that never widens through a hub
# it can go round. allShortestPaths (above) expands whichever side has fewer *nodes* on its
# frontier, so an entity that has one contract with a vendor of 50,000 relationships has it
# expanded at the second step: 50,000 relationships tested and their far ends carried on.
# Here each step expands the side whose frontier has fewer *relationships* (Neo4j keeps a
# node's degree, so counting them is cheap), one Cypher query per step; a hub is expanded
# only when both sides must pass through one; then (HUB_HANDOVER), rather than bring a hub's
# neighbours back to Python, it looks for a path joining the two frontiers directly and, if
# there is none, hands the search to allShortestPaths, which crosses the hub inside Neo4j.
# The answer is the same set of shortest paths:
# the search stops at the first depth at which the two sides meet, and every path is
# assembled through the nodes where they meet on the first side's frontier, of which each
# shortest path has exactly one.
_PATH_STEP = """
UNWIND $frontier AS id
MATCH (u:Entity) WHERE elementId(u) = id
MATCH (u)-[r]-(v:Entity)
WHERE type(r) IN $types AND ({rel}) AND {node} AND v <> u
  AND ($targets IS NULL OR elementId(v) IN $targets)
RETURN id AS u, elementId(r) AS r, elementId(v) AS v, COUNT {{ (v)--() }} AS degree
"""
PATH_STEP_FAST = _PATH_STEP.format(rel=f"($published_only = false OR {_REL_PUBLISHED}) AND {_REL_CURRENT}",
                                   node=_NODE_VISIBLE.format(n="v"))
PATH_STEP_EXACT = _PATH_STEP.format(rel=_REL_VISIBLE, node=_NODE_VISIBLE.format(n="v"))
# The two ends (None if not visible) with their degree, and the first step from each end
# that has at most FIRST_STEP_MAX relationships, read in the same query: most searches then
# take two or three more steps.
FIRST_STEP_MAX = 1000
HUB_HANDOVER = 10_000
_PATH_ENDS = """
UNWIND [$a, $b] AS uid
MATCH (n:Entity {{uid: uid}}) WHERE {node_n}
WITH uid, n, COUNT {{ (n)--() }} AS degree
CALL {{
  WITH n, degree
  WITH n WHERE degree <= $first_step_max
  MATCH (n)-[r]-(v:Entity)
  WHERE type(r) IN $types AND ({rel}) AND {node_v} AND v <> n
  RETURN collect({{r: elementId(r), v: elementId(v), degree: COUNT {{ (v)--() }}}}) AS next
}}
RETURN uid, elementId(n) AS id, degree, CASE WHEN degree <= $first_step_max THEN next END AS next
"""
PATH_ENDS_FAST, PATH_ENDS_EXACT = (
    _PATH_ENDS.format(node_n=_NODE_VISIBLE.format(n="n"), node_v=_NODE_VISIBLE.format(n="v"), rel=rel)
    for rel in (f"($published_only = false OR {_REL_PUBLISHED}) AND {_REL_CURRENT}", _REL_VISIBLE))
PATH_PARTS = f"""
CALL {{
  UNWIND $nodes AS id
  MATCH (n:Entity) WHERE elementId(n) = id
  RETURN collect([id, {_NODE_MAP.format(n='n')}]) AS nodes
}}
CALL {{
  UNWIND $rels AS id
  MATCH ()-[r]->() WHERE elementId(r) = id
  RETURN collect([id, {_REL_MAP}, $published_only = false OR ({_REL_SITE_PARTY_PUBLIC})]) AS rels
}}
RETURN nodes, rels
"""


def _shortest_paths_search(ends: dict, *, hops: int, exact: bool, limit: int, params: dict) -> list[list[str]] | None:
    """The shortest paths (at most `hops` steps, at most `limit` of them) between the ends
    {"a": row, "b": row} of PATH_ENDS_*, each as the alternating element ids
    [node, rel, node, ...] from a to b; None when both sides have a hub to cross."""
    step = PATH_STEP_EXACT if exact else PATH_STEP_FAST
    # Per side: the depth of every node reached, the (rel, previous node) pairs leading to
    # each node from the depth before, the frontier and the sum of its nodes' degrees.
    sides = {key: {"depth": {end["id"]: 0}, "back": {}, "frontier": [end["id"]], "degree": end["degree"],
                   "level": 0} for key, end in ends.items()}

    def meeting() -> list[str]:
        return [v for v in sides["a"]["frontier"] if sides["b"]["depth"].get(v) == sides["b"]["level"]]

    for key, end in ends.items():  # the first steps read with the ends
        if end["next"] is None or sides["a"]["level"] + sides["b"]["level"] >= hops:
            continue
        _advance(sides[key], [{"u": end["id"], **row} for row in end["next"]])
        if not sides[key]["frontier"]:
            return []
        if found := meeting():
            return _assemble(sides["a"]["back"], sides["b"]["back"], found, limit=limit)
    while sides["a"]["level"] + sides["b"]["level"] < hops:
        key = "a" if sides["a"]["degree"] <= sides["b"]["degree"] else "b"
        side, other = sides[key], sides["b" if key == "a" else "a"]
        last = side["level"] + other["level"] + 1 == hops
        if not last and side["degree"] > HUB_HANDOVER:
            # Only a path through the two frontiers now avoids reading the far sides of their
            # hubs: look for one inside Neo4j (no rows unless found), else hand over.
            rows = run(step, {**params, "frontier": side["frontier"], "targets": other["frontier"]})
            if not rows:
                return None
            _advance(side, rows)
            return _assemble(sides["a"]["back"], sides["b"]["back"], meeting(), limit=limit)
        # On the last possible step only the other side's frontier can complete a path.
        rows = run(step, {**params, "frontier": side["frontier"], "targets": other["frontier"] if last else None})
        _advance(side, rows)
        if not side["frontier"]:
            return []
        if found := meeting():
            return _assemble(sides["a"]["back"], sides["b"]["back"], found, limit=limit)
    return []


def _advance(side: dict, rows: list[dict]) -> None:
    """One step of a side's search: rows {u, r, v, degree} lead from its frontier to v."""
    level = side["level"] + 1
    depth, back = side["depth"], side["back"]
    frontier, degree = [], 0
    for row in rows:
        v = row["v"]
        seen = depth.get(v)
        if seen is None:
            depth[v] = level
            back[v] = [(row["r"], row["u"])]
            frontier.append(v)
            degree += row["degree"]
        elif seen == level:
            back[v].append((row["r"], row["u"]))
    side.update(frontier=frontier, degree=degree, level=level)


def _assemble(back_a: dict, back_b: dict, meeting: list[str], *, limit: int) -> list[list[str]]:
    def halves(back: dict, node: str):
        """Every way back from `node` to its side's start: [node, rel, node, ..., start]."""
        if node not in back:
            yield [node]
            return
        for rel, previous in back[node]:
            for rest in halves(back, previous):
                yield [node, rel, *rest]

    paths: list[list[str]] = []
    for node in meeting:
        for to_a in halves(back_a, node):
            for to_b in halves(back_b, node):
                paths.append(list(reversed(to_a)) + to_b[1:])
                if len(paths) >= limit:
                    return paths
    return paths


GRAPH_GENERATION = "MATCH (m:GraphMeta {key: 'generation'}) RETURN m.epoch + ':' + toString(m.n) AS generation"


def graph_generation() -> str | None:
    """The graph's generation (see graph.sync._BUMP_GENERATION): it changes with every write
    that changes the graph. None when nothing was written since the graph was cleared."""
    rows = run(GRAPH_GENERATION)
    return rows[0]["generation"] if rows else None


def _visibility(as_of: str | None, published_only: bool) -> dict:
    return {"as_of": as_of or None, "published_only": published_only, "ended_statuses": ENDED_STATUSES}


def ownership_edges(uid: str, *, direction: str = "up", as_of: str | None = None, published_only: bool = True,
                    limit: int = MAX_TREE_EDGES) -> list[dict]:
    """Distinct ownership edges above (`up`) or below (`down`) `uid`: rows {owner, owned, rel}.

    At most `limit` edges and MAX_CHAIN_DEPTH steps; with `as_of` only records current then.
    Like the path finder, the expansion tests what each step carries itself and the site
    and party of the edges found afterwards; if any fails, the exact query answers.
    """
    params = {"uid": uid, "limit": limit, **_visibility(as_of, published_only)}
    rows = run(OWNERSHIP_UP_FAST if direction == "up" else OWNERSHIP_DOWN_FAST, params)
    if all([row.pop("visible") for row in rows]) and len(rows) < limit:  # (the limit may hide a failing step)
        return rows
    return run(OWNERSHIP_UP_EDGES if direction == "up" else OWNERSHIP_DOWN_EDGES, params)


def _is_state(node: dict, rel: dict | None = None) -> bool:
    return node.get("kind") == "country" or bool(node.get("state_owned")) or bool(rel and rel.get("state_control"))


def ownership_chains(uid: str, *, as_of: str | None = None, published_only: bool = True,
                     max_chains: int = 50) -> dict:
    """The ownership chains from `uid` up to each ultimate owner or controller.

    Returns {"chains": [...], "truncated": bool}; each chain is a list of steps from `uid`
    upwards: {"owner", "owned", "rel", "state": bool, "unknown_intermediate": bool} plus
    {"effective_share": float | None} (the product of the shares, when every share is known
    and no intermediate is unknown), "ends_in_cycle" (the top owner is already lower in the
    chain) and "ultimate" (the top owner has no owner of its own).
    """
    rows = ownership_edges(uid, direction="up", as_of=as_of, published_only=published_only)
    owners_of: dict[str, list[dict]] = {}
    for row in rows:
        owners_of.setdefault(row["owned"]["uid"], []).append(row)
    for edges in owners_of.values():
        edges.sort(key=lambda r: (-(r["rel"]["share_pct"] or 0), r["owner"]["name"] or ""))

    chains: list[dict] = []
    truncated = len(rows) >= MAX_TREE_EDGES

    def walk(node_uid: str, steps: list[dict], seen: set[str]) -> None:
        nonlocal truncated
        if len(chains) >= max_chains:
            truncated = True
            return
        above = owners_of.get(node_uid, [])
        if not above:
            if steps:
                chains.append(_chain(steps, ultimate=True, cycle=False))
            return
        for row in above:
            step = {"owner": row["owner"], "owned": row["owned"], "rel": row["rel"],
                    "state": _is_state(row["owner"], row["rel"]),
                    "unknown_intermediate": row["rel"].get("direct") is False}
            if row["owner"]["uid"] in seen:
                chains.append(_chain([*steps, step], ultimate=False, cycle=True))
                continue
            walk(row["owner"]["uid"], [*steps, step], seen | {row["owner"]["uid"]})

    walk(uid, [], {uid})
    return {"chains": chains, "truncated": truncated}


def _chain(steps: list[dict], *, ultimate: bool, cycle: bool) -> dict:
    share: float | None = 1.0
    for step in steps:
        pct = step["rel"].get("share_pct")
        if pct is None or step["unknown_intermediate"]:
            share = None
            break
        share *= pct / 100.0
    return {"steps": steps, "effective_share": None if share is None or cycle else round(share * 100, 3),
            "ultimate": ultimate, "ends_in_cycle": cycle, "top": steps[-1]["owner"],
            "state": any(s["state"] for s in steps)}


def ownership_tree(uid: str, *, as_of: str | None = None, published_only: bool = True) -> dict:
    """The subsidiaries below `uid` as a tree: {"children": [{"node", "rel", "children", "cycle"}], "truncated"}."""
    rows = ownership_edges(uid, direction="down", as_of=as_of, published_only=published_only)
    owned_by: dict[str, list[dict]] = {}
    for row in rows:
        owned_by.setdefault(row["owner"]["uid"], []).append(row)
    for edges in owned_by.values():
        edges.sort(key=lambda r: r["owned"]["name"] or "")

    def build(node_uid: str, seen: frozenset[str]) -> list[dict]:
        out = []
        for row in owned_by.get(node_uid, []):
            child = row["owned"]["uid"]
            cycle = child in seen
            out.append({"node": row["owned"], "rel": row["rel"], "cycle": cycle,
                        "unknown_intermediate": row["rel"].get("direct") is False,
                        "children": [] if cycle else build(child, seen | {child})})
        return out

    return {"children": build(uid, frozenset({uid})), "truncated": len(rows) >= MAX_TREE_EDGES}


def vendor_footprint(uid: str, *, as_of: str | None = None, published_only: bool = True,
                     limit: int = 2000) -> list[dict]:
    """Rows {country, rel, counterpart, site_name, site_uid} of a vendor's records by country."""
    return run(VENDOR_FOOTPRINT, {"uid": uid, "limit": limit, **_visibility(as_of, published_only)})


def all_vendor_footprints(*, as_of: str | None = None, published_only: bool = True,
                          limit: int = 50000) -> list[dict]:
    """Rows {vendor, country, rel, counterpart, site_name, site_uid} for every company with a
    deployment, donation, contract or ban."""
    return run(ALL_VENDOR_FOOTPRINTS, {"limit": limit, **_visibility(as_of, published_only)})


def country_vendors(iso: str, *, as_of: str | None = None, published_only: bool = True,
                    limit: int = 100) -> dict:
    """{"total": int, "vendors": [{node, statuses: [[kind, status]], records}]} for the vendors
    present in country `iso`, the most records first (at most `limit`)."""
    rows = run(COUNTRY_VENDORS, {"iso": iso, "limit": limit, **_visibility(as_of, published_only)})
    return rows[0] if rows else {"total": 0, "vendors": []}


def country_sections(iso: str, *, offsets: dict[str, int], per_page: int, as_of: str | None = None,
                     published_only: bool = True) -> dict[str, dict]:
    """{section: {"total": int, "page": [record uid]}} for the sections bans, tenders, loans
    and investigations of country `iso`; each page starts at `offsets[section]` (newest first)."""
    rows = run(COUNTRY_SECTIONS, {"iso": iso, "offsets": offsets, "per_page": per_page,
                                  **_visibility(as_of, published_only)})
    return {row["section"]: {"total": row["total"], "page": row["page"]} for row in rows}


def explorer_neighbourhood(uid: str, *, kinds: list[str] | None = None, date_from: str | None = None,
                  date_to: str | None = None, as_of: str | None = None, published_only: bool = True,
                  limit: int = 150) -> dict | None:
    """{center, items: [{rel, node}], total} for one hop around `uid`; None if it is not visible."""
    types = [REL_TYPES[k] for k in (kinds or REL_TYPES) if k in REL_TYPES]
    rows = run(EXPLORER_NEIGHBOURHOOD, {"uid": uid, "types": types, "limit": limit, "date_from": date_from or None,
                               "date_to": date_to or None, **_visibility(as_of, published_only)})
    return rows[0] if rows else None


def paths_between(a: str, b: str, *, max_hops: int = 4, kinds: list[str] | None = None, as_of: str | None = None,
                  published_only: bool = True, limit: int = 10) -> list[dict]:
    """All shortest paths (up to `max_hops`, at most MAX_PATH_HOPS; at most `limit` of them)
    between two entities, ignoring direction: rows {nodes, rels}.

    The search (see _PATH_STEP) tests only what each relationship and node carries itself
    (published, current, the types); the site and party of the paths found are tested
    afterwards, and if any fails the search runs again testing them on every step, so a
    longer visible path is never hidden by a shorter invisible one.
    """
    hops = min(max(int(max_hops), 1), MAX_PATH_HOPS)
    types = [REL_TYPES[k] for k in (kinds or REL_TYPES) if k in REL_TYPES]
    if a == b or not types:
        return []
    params = {"types": types, "first_step_max": FIRST_STEP_MAX, **_visibility(as_of, published_only)}
    for exact in (False, True):
        found = {row["uid"]: row for row in run(PATH_ENDS_EXACT if exact else PATH_ENDS_FAST, {"a": a, "b": b, **params})}
        if a not in found or b not in found:
            return []
        paths = _shortest_paths_search({"a": found[a], "b": found[b]}, hops=hops, exact=exact, limit=limit,
                                       params=params)
        if paths is None:
            rows = run((SHORTEST_PATHS_BOUNDED if exact else SHORTEST_PATHS_FAST)[hops],
                       {"a": a, "b": b, "limit": limit, **params})
            if exact or all(row["visible"] for row in rows):
                return [{"nodes": row["nodes"], "rels": row["rels"]} for row in rows]
            continue
        if not paths:
            return []
        parts = run(PATH_PARTS, {"nodes": list({id for p in paths for id in p[0::2]}),
                                 "rels": list({id for p in paths for id in p[1::2]}),
                                 "published_only": published_only})[0]
        nodes = {id: node for id, node in parts["nodes"]}
        rels = {id: (rel, visible) for id, rel, visible in parts["rels"]}
        # (A node or relationship deleted since the search leaves its paths out.)
        paths = [p for p in paths if all(id in nodes for id in p[0::2]) and all(id in rels for id in p[1::2])]
        if exact or all(rels[id][1] for p in paths for id in p[1::2]):
            return [{"nodes": [nodes[id] for id in p[0::2]], "rels": [rels[id][0] for id in p[1::2]]}
                    for p in paths]
    return []


# --- Exports (issue 5) -------------------------------------------------------------------
# The records within `depth` hops of an entity, each hop a record of an allowed type. One
# constant per depth: a variable-length bound cannot be a parameter.
NEIGHBOURHOOD_MAX_DEPTH = 2
NEIGHBOURHOOD = {
    depth: f"""
MATCH (start:Entity {{uid: $uid}})
OPTIONAL MATCH p = (start)-[rels*1..{depth}]-(:Entity)
WHERE all(r IN rels WHERE type(r) IN $types AND {_REL_PUBLIC})
WITH start, p LIMIT $limit
UNWIND CASE WHEN p IS NULL THEN [null] ELSE relationships(p) END AS r
RETURN start.uid AS start, collect(DISTINCT r.uid) AS records
"""
    for depth in range(1, NEIGHBOURHOOD_MAX_DEPTH + 1)
}


def neighbourhood(uid: str, *, depth: int = 1, published_only: bool = True, limit: int = 20000) -> list[str]:
    """The uids of the records within `depth` (1..2) hops of entity `uid`; [] if it is not in the graph."""
    depth = max(1, min(depth, NEIGHBOURHOOD_MAX_DEPTH))
    rows = run(NEIGHBOURHOOD[depth], {"uid": uid, "types": list(REL_TYPES.values()),
                                      "published_only": published_only, "limit": limit})
    return [r for r in rows[0]["records"] if r] if rows else []
