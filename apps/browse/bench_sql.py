"""The ownership chain and the path finder answered by the store of record alone, with
recursive CTEs -- the benchmark's side-by-side with Neo4j (`manage.py browse_bench`), so
the README can say what the graph database buys at a million entities. Not used by any page.

The SQL runs on PostgreSQL and SQLite alike (paths are kept as ',id,id,' strings, tested
with LIKE, rather than PostgreSQL arrays). Visibility is the published rule: a record is
followed when it and both its entities are published (the synthetic graph has no site or
party references).
"""
from __future__ import annotations

from django.db import connection

from apps.catalog.models import Entity, Record

_E = Entity._meta.db_table
_R = Record._meta.db_table

# Every ownership edge above an entity, up to `depth` steps, never revisiting an entity on
# the same path (cycles), like graph.queries.OWNERSHIP_UP_EDGES.
OWNERSHIP_UP_SQL = f"""
WITH RECURSIVE up(owner_id, record_id, depth, path) AS (
  SELECT r.subject_id, r.id, 1, ',' || CAST(r.object_id AS TEXT) || ',' || CAST(r.subject_id AS TEXT) || ','
  FROM {_R} r JOIN {_E} s ON s.id = r.subject_id
  WHERE r.object_id = %(start)s AND r.kind = 'ownership' AND r.workflow = 'published' AND s.workflow = 'published'
    AND r.subject_id <> r.object_id
  UNION ALL
  SELECT r.subject_id, r.id, up.depth + 1, up.path || CAST(r.subject_id AS TEXT) || ','
  FROM up JOIN {_R} r ON r.object_id = up.owner_id JOIN {_E} s ON s.id = r.subject_id
  WHERE up.depth < %(depth)s AND r.kind = 'ownership' AND r.workflow = 'published' AND s.workflow = 'published'
    AND up.path NOT LIKE '%%,' || CAST(r.subject_id AS TEXT) || ',%%'
)
SELECT DISTINCT r.uuid, o.uuid, d.uuid
FROM up JOIN {_R} r ON r.id = up.record_id JOIN {_E} o ON o.id = r.subject_id JOIN {_E} d ON d.id = r.object_id
LIMIT %(limit)s
"""

# Walks of up to `depth` steps from one entity over any published record, either
# direction, never revisiting an entity: the path finder meets two of them in the middle.
_WALK = """{name}(node, depth, path) AS (
  SELECT CAST(%({start})s AS BIGINT), 0, ',' || CAST(%({start})s AS TEXT) || ','
  UNION ALL
  SELECT n.id, w.depth + 1, w.path || CAST(n.id AS TEXT) || ','
  FROM {name} w JOIN {records} r ON (r.subject_id = w.node OR r.object_id = w.node)
  JOIN {entities} n ON n.id = CASE WHEN r.subject_id = w.node THEN r.object_id ELSE r.subject_id END
  WHERE w.depth < %({depth})s AND r.workflow = 'published' AND n.workflow = 'published'
    AND w.path NOT LIKE '%%,' || CAST(n.id AS TEXT) || ',%%'
)"""

PATHS_SQL = ("WITH RECURSIVE " + _WALK.format(name="wa", start="a", depth="da", records=_R, entities=_E) + ",\n"
             + _WALK.format(name="wb", start="b", depth="db", records=_R, entities=_E) + f"""
SELECT wa.path, wb.path, wa.depth + wb.depth AS steps
FROM wa JOIN wb ON wa.node = wb.node
WHERE wa.depth + wb.depth = (SELECT min(x.depth + y.depth) FROM wa x JOIN wb y ON x.node = y.node)
""")


def ownership_up_edges_sql(uid: str, *, depth: int = 12, limit: int = 500) -> list[tuple[str, str, str]]:
    """(record uuid, owner uuid, owned uuid) of every ownership edge above entity `uid`."""
    start = Entity.objects.filter(uuid=uid).values_list("id", flat=True).first()
    if start is None:
        return []
    with connection.cursor() as cursor:
        cursor.execute(OWNERSHIP_UP_SQL, {"start": start, "depth": depth, "limit": limit})
        return [tuple(str(Entity._meta.get_field("uuid").to_python(v)) for v in row) for row in cursor.fetchall()]


def shortest_paths_sql(a: str, b: str, *, max_hops: int = 4, limit: int = 10) -> list[list[str]]:
    """The shortest paths (at most `max_hops` steps, any direction) between two entities,
    as lists of entity uuids from `a` to `b`; [] when none is that short."""
    ids = dict(Entity.objects.filter(uuid__in=[a, b]).values_list("uuid", "id"))
    if len(ids) < 2:
        return []
    ida, idb = ids[Entity._meta.get_field("uuid").to_python(a)], ids[Entity._meta.get_field("uuid").to_python(b)]
    with connection.cursor() as cursor:
        cursor.execute(PATHS_SQL, {"a": ida, "b": idb, "da": (max_hops + 1) // 2, "db": max_hops // 2})
        rows = cursor.fetchall()
    paths: list[list[int]] = []
    seen = set()
    for path_a, path_b, _steps in rows:
        left = [int(x) for x in path_a.strip(",").split(",")]
        right = [int(x) for x in path_b.strip(",").split(",")]
        nodes = left + right[::-1][1:]
        if len(set(nodes)) != len(nodes) or tuple(nodes) in seen:
            continue  # the two halves crossed elsewhere: not a simple path
        seen.add(tuple(nodes))
        paths.append(nodes)
        if len(paths) >= limit:
            break
    by_id = dict(Entity.objects.filter(id__in={n for p in paths for n in p}).values_list("id", "uuid"))
    return [[str(by_id[n]) for n in p] for p in paths]
