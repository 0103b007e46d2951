"""Read queries answered by Neo4j. Cypher is built from module constants; user input only
ever travels as $parameters. Labels and relationship types come from graph.models."""
from __future__ import annotations

from graph.connection import run
from graph.models import REL_TYPES

MAX_CHAIN_DEPTH = 12
MAX_PATH_HOPS = 6

# Upward chain of ownership/control from an entity; cycles terminate because Cypher
# variable-length patterns never repeat a relationship, and the depth is bounded.
OWNERSHIP_UP = f"""
MATCH (start:Entity {{uid: $uid}})
MATCH p = (owner:Entity)-[:OWNS*1..{MAX_CHAIN_DEPTH}]->(start)
WHERE all(r IN relationships(p) WHERE $published_only = false OR r.workflow = 'published')
  AND ($as_of IS NULL OR all(r IN relationships(p) WHERE (r.start IS NULL OR r.start <= $as_of)
                                          AND (r.end IS NULL OR r.end >= $as_of)))
WITH p, owner, NOT EXISTS {{ MATCH (:Entity)-[u:OWNS]->(owner)
                             WHERE $published_only = false OR u.workflow = 'published' }} AS ultimate
RETURN [n IN nodes(p) | {{uid: n.uid, name: n.name, kind: n.kind, country: n.country,
                          state_owned: n.state_owned}}] AS nodes,
       [r IN relationships(p) | {{uid: r.uid, share_pct: r.share_pct, direct: r.direct,
                                  state_control: r.state_control, start: r.start, end: r.end,
                                  sources: r.sources}}] AS rels,
       ultimate
ORDER BY length(p)
LIMIT 500
"""

OWNERSHIP_DOWN = f"""
MATCH (start:Entity {{uid: $uid}})
MATCH p = (start)-[:OWNS*1..{MAX_CHAIN_DEPTH}]->(sub:Entity)
WHERE all(r IN relationships(p) WHERE $published_only = false OR r.workflow = 'published')
RETURN [n IN nodes(p) | {{uid: n.uid, name: n.name, kind: n.kind, country: n.country}}] AS nodes,
       [r IN relationships(p) | {{uid: r.uid, share_pct: r.share_pct, direct: r.direct}}] AS rels
ORDER BY length(p)
LIMIT 500
"""

# Countries where a vendor's equipment is deployed, contracted, donated, banned or cancelled.
# A record's place is its object when that is a country/site, else its `site`.
VENDOR_COUNTRIES = """
MATCH (v:Entity {uid: $uid})
CALL {
  WITH v
  MATCH (v)-[r:DEPLOYED_IN|DONATED_TO]->(x:Entity)
  RETURN r, x, CASE type(r) WHEN 'DONATED_TO' THEN 'donated' ELSE coalesce(r.status, 'deployed') END AS role
  UNION
  WITH v
  MATCH (x:Entity)-[r:CONTRACTED]->(v)
  RETURN r, x, CASE WHEN r.status IN ['cancelled', 'blocked'] THEN 'cancelled' ELSE 'contracted' END AS role
  UNION
  WITH v
  MATCH (x:Entity)-[r:BANNED]->(v)
  RETURN r, x, 'banned' AS role
}
WITH r, x, role WHERE $published_only = false OR r.workflow = 'published'
OPTIONAL MATCH (site:Entity {uid: r.site})
WITH r, role, x, site,
     CASE WHEN x.kind IN ['country', 'site', 'public_body'] AND x.country IS NOT NULL THEN x.country
          WHEN site IS NOT NULL THEN site.country ELSE x.country END AS country
WHERE country IS NOT NULL
RETURN country, role, r.uid AS record, type(r) AS type, r.title AS title, r.start AS start, r.end AS end,
       r.status AS status, x.name AS counterpart, coalesce(site.name, CASE WHEN x.kind = 'site' THEN x.name END) AS site
ORDER BY country, start
"""

# Shortest paths between two entities, ignoring direction, each hop a cited record.
SHORTEST_PATHS = f"""
MATCH (a:Entity {{uid: $a}}), (b:Entity {{uid: $b}})
MATCH p = allShortestPaths((a)-[rels*..{MAX_PATH_HOPS}]-(b))
WHERE all(r IN rels WHERE type(r) IN $types AND ($published_only = false OR r.workflow = 'published'))
RETURN [n IN nodes(p) | {{uid: n.uid, name: n.name, kind: n.kind}}] AS nodes,
       [r IN relationships(p) | {{uid: r.uid, kind: r.kind, title: r.title, from: startNode(r).uid,
                                  to: endNode(r).uid, sources: r.sources}}] AS rels
LIMIT $limit
"""


def ownership_up(uid: str, *, as_of: str | None = None, published_only: bool = True) -> list[dict]:
    """Every ownership/control path above `uid` (nearest first); `ultimate` marks a top owner."""
    return run(OWNERSHIP_UP, {"uid": uid, "as_of": as_of, "published_only": published_only})


def ownership_down(uid: str, *, published_only: bool = True) -> list[dict]:
    return run(OWNERSHIP_DOWN, {"uid": uid, "published_only": published_only})


def vendor_countries(uid: str, *, published_only: bool = True) -> list[dict]:
    return run(VENDOR_COUNTRIES, {"uid": uid, "published_only": published_only})


def shortest_paths(a: str, b: str, *, kinds: list[str] | None = None, limit: int = 10,
                   published_only: bool = True) -> list[dict]:
    types = [REL_TYPES[k] for k in (kinds or REL_TYPES) if k in REL_TYPES]
    return run(SHORTEST_PATHS, {"a": a, "b": b, "types": types, "limit": limit, "published_only": published_only})
