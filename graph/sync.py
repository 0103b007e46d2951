"""Project store-of-record changes into Neo4j: batched, idempotent and versioned.

Each change is a dict `{"aggregate": "entity"|"record", "op": "upsert"|"delete",
"uid": str, "version": int, "payload": {...}}` (the outbox row). `apply_changes()` writes a
batch in one transaction with `UNWIND $rows ... MERGE` on the stable uid and returns, for
each uid, one of:

- "applied": the graph now holds this version;
- "stale":   the graph already holds this or a newer version (or a newer deletion), so
             nothing was written; an older update never overwrites a newer one;
- "missing": a record whose endpoint entity is not in the graph yet; retry later.

Labels and relationship types come from the allow-lists in graph.models only.
"""
from __future__ import annotations

from collections import defaultdict

from graph.connection import run, write_transaction
from graph.models import NODE_LABELS, REL_TYPES, GraphEntity, RecordRel


def _declared(cls) -> tuple[str, ...]:
    return tuple(name for name in cls.defined_properties(aliases=False, rels=False) if name not in ("uid", "version"))


# An upsert travels to Neo4j as a LIST [uid, version, (s, o,) value, ...] with the values in
# the order graph.models declares the properties, and each query spells the property map
# out ({uid: .., name: x[2], ...}). Rows as nested maps cost the driver's packer (neo4j-rust-ext
# 5.19) ~17 µs each, as flat lists ~1.3 µs: on the 2-core machine that was a sixth of the
# CPU of a batched write, taken from Neo4j. Setting uid and version in the same map also
# stops `SET m = props, m.uid = ...` from removing and re-adding the indexed uid on every row.
ENTITY_PROPS = _declared(GraphEntity)
RECORD_PROPS = _declared(RecordRel)


def _props_map(names: tuple[str, ...], first: int) -> str:
    """The Cypher map of a row: uid and version from `r`, the properties from the list `x`
    (null values set no property, as `SET m = map` goes)."""
    return "{" + ", ".join(["uid: r.uid", "version: r.version",
                            *(f"`{name}`: x[{first + i}]" for i, name in enumerate(names))]) + "}"


_ENTITY_ROW = "UNWIND $rows AS x WITH x, {uid: x[0], version: x[1]} AS r"
_RECORD_ROW = "UNWIND $rows AS x WITH x, {uid: x[0], version: x[1], s: x[2], o: x[3]} AS r"
_ENTITY_MAP = _props_map(ENTITY_PROPS, 2)
_RECORD_MAP = _props_map(RECORD_PROPS, 4)

_ALL_KIND_LABELS = ":".join(sorted(NODE_LABELS.values()))

# `$force` (rebuild) rewrites equal versions too; a newer version is never overwritten.
_STALE_NODE = "(n IS NOT NULL AND (n.version > r.version OR (n.version = r.version AND NOT $force)))"
_STALE_TOMB = "(t IS NOT NULL AND t.version >= r.version)"
# MERGE does not lock a node that already exists: without taking its write lock before
# reading `version`, two workers writing the same entity at once could both pass the
# version test on the old value and the older write could land last. Setting and removing
# a dummy property takes the lock (held to the end of the transaction) and changes nothing.
_LOCK_M = "SET m._lock = true REMOVE m._lock"

# MERGE first, then keep only rows newer than what the node holds: a stale row simply
# drops out (and is reported "stale" by its absence from the result).
ENTITY_UPSERT = {
    kind: f"""
{_ENTITY_ROW}
OPTIONAL MATCH (t:Tombstone {{uid: r.uid}})
WITH x, r WHERE t IS NULL OR t.version < r.version
MERGE (m:Entity {{uid: r.uid}})
{_LOCK_M}
WITH m, x, r, coalesce(m.version, 0) AS before
WHERE m.version IS NULL OR m.version < r.version OR (m.version = r.version AND $force)
SET m = {_ENTITY_MAP}
WITH m, r, before
// Relabel only when the kind changed (or the node is new): an unconditional REMOVE/SET of
// every kind label was a label write per row even on a plain update.
CALL {{
  WITH m
  WITH m WHERE NOT m:{label}
  REMOVE m:{_ALL_KIND_LABELS}
  SET m:{label}
}}
RETURN collect([r.uid, before]) AS applied
"""
    for kind, label in NODE_LABELS.items()
}

ENTITY_DELETE = f"""
UNWIND $rows AS r
OPTIONAL MATCH (n:Entity {{uid: r.uid}})
FOREACH (x IN CASE WHEN n IS NULL THEN [] ELSE [n] END | SET x._lock = true REMOVE x._lock)
WITH r, n
OPTIONAL MATCH (t:Tombstone {{uid: r.uid}})
WITH r, n, (n IS NOT NULL AND n.version >= r.version) OR {_STALE_TOMB} AS stale, coalesce(n.version, t.version, 0) AS before
FOREACH (_ IN CASE WHEN stale THEN [] ELSE [1] END |
  MERGE (tt:Tombstone {{uid: r.uid}}) SET tt.version = r.version)
FOREACH (x IN CASE WHEN stale OR n IS NULL THEN [] ELSE [n] END | DETACH DELETE x)
RETURN r.uid AS uid, CASE WHEN stale THEN 'stale' ELSE 'applied' END AS outcome, before
"""

RECORD_UPSERT = {
    kind: f"""
{_RECORD_ROW}
OPTIONAL MATCH (a:Entity {{uid: r.s}})
OPTIONAL MATCH (b:Entity {{uid: r.o}})
OPTIONAL MATCH ()-[n:{rel} {{uid: r.uid}}]->()
OPTIONAL MATCH (t:Tombstone {{uid: r.uid}})
WITH x, r, a, b, n, t, {_STALE_NODE} OR {_STALE_TOMB} AS stale
WITH x, r, a, b, n, stale, (NOT stale AND a IS NOT NULL AND b IS NOT NULL) AS ok, coalesce(n.version, t.version, 0) AS before
FOREACH (old IN CASE WHEN ok AND n IS NOT NULL THEN [n] ELSE [] END | DELETE old)
FOREACH (_ IN CASE WHEN ok THEN [1] ELSE [] END |
  CREATE (a)-[m:{rel}]->(b) SET m = {_RECORD_MAP})
RETURN r.uid AS uid, CASE WHEN stale THEN 'stale' WHEN ok THEN 'applied' ELSE 'missing' END AS outcome, before
"""
    for kind, rel in REL_TYPES.items()
}

RECORD_DELETE = {
    kind: f"""
UNWIND $rows AS r
OPTIONAL MATCH ()-[n:{rel} {{uid: r.uid}}]->()
OPTIONAL MATCH (t:Tombstone {{uid: r.uid}})
WITH r, n, (n IS NOT NULL AND n.version >= r.version) OR {_STALE_TOMB} AS stale, coalesce(n.version, t.version, 0) AS before
FOREACH (_ IN CASE WHEN stale THEN [] ELSE [1] END |
  MERGE (tt:Tombstone {{uid: r.uid}}) SET tt.version = r.version)
FOREACH (x IN CASE WHEN stale OR n IS NULL THEN [] ELSE [n] END | DELETE x)
RETURN r.uid AS uid, CASE WHEN stale THEN 'stale' ELSE 'applied' END AS outcome, before
"""
    for kind, rel in REL_TYPES.items()
}

GRAPH_COUNTS_ENTITIES = "MATCH (n:Entity) RETURN n.kind AS kind, count(*) AS n"
GRAPH_COUNTS_RECORDS = "MATCH ()-[r]->() WHERE type(r) IN $types RETURN r.kind AS kind, count(*) AS n"
PRUNE_ENTITIES = "UNWIND $uids AS uid MATCH (n:Entity {uid: uid}) DETACH DELETE n"
PRUNE_RECORDS = {kind: f"UNWIND $uids AS uid MATCH ()-[r:{rel} {{uid: uid}}]->() DELETE r" for kind, rel in REL_TYPES.items()}
CLEAR_ALL = "MATCH (n) CALL { WITH n DETACH DELETE n } IN TRANSACTIONS OF 10000 ROWS"


def stored(value) -> bool:
    """Whether a projected value becomes a property. `SET m = map` leaves a null-valued key
    unset anyway (and dropping them is most of a record's optional fields); an empty list
    is no property either (readers take a missing list as empty): Neo4j's bulk importer
    (graph.bulk_import) cannot write one, and both paths must store the same."""
    return value is not None and value != []


def _values(aggregate: str, uid: str, props: dict, names: tuple[str, ...]) -> list:
    unknown = props.keys() - set(names)
    if unknown:
        raise ValueError(f"{aggregate} {uid}: payload field(s) {sorted(unknown)} are not declared in graph.models")
    return [value if stored(value) else None for value in map(props.get, names)]


def _row(change: dict) -> list | dict:
    """The query parameter of one change: an upsert as the list [uid, version, (s, o,)
    values in ENTITY_PROPS / RECORD_PROPS order], a deletion as {uid, version}."""
    if change["op"] != "upsert":
        return {"uid": change["uid"], "version": change["version"]}
    payload = change.get("payload") or {}
    props = payload.get("props", {})
    if change["aggregate"] == "record":
        return [change["uid"], change["version"], payload["s"], payload["o"],
                *_values("record", change["uid"], props, RECORD_PROPS)]
    return [change["uid"], change["version"], *_values("entity", change["uid"], props, ENTITY_PROPS)]


def _uid(row: list | dict) -> str:
    return row["uid"] if isinstance(row, dict) else row[0]


def apply_changes(changes: list[dict], *, force: bool = False, before: dict[str, int] | None = None) -> dict[str, str]:
    """Write a batch of changes in one Neo4j transaction; return the outcome per uid.

    Callers pass at most one change per uid (the newest). Entities are written before
    records and deleted after them, so a batch never depends on its own order. When
    `before` is a dict it receives, for each applied uid, the version the graph held just
    before (0: none), read under the object's write lock: the outbox keeps it as the proof
    that changes were applied in order.
    Raises GraphUnavailable when Neo4j cannot be reached (nothing is written then).
    """
    groups: dict[tuple[str, str, str], list[dict]] = defaultdict(list)
    # Sorted by uid: two workers writing overlapping batches take their locks in the same
    # order, so they wait for each other rather than deadlock.
    for change in sorted(changes, key=lambda c: c["uid"]):
        kind = (change.get("payload") or {}).get("kind")
        groups[(change["aggregate"], change["op"], kind)].append(_row(change))

    order = [("entity", "upsert"), ("record", "upsert"), ("record", "delete"), ("entity", "delete")]
    outcomes: dict[str, str] = {}
    applied_before: dict[str, int] = {}
    with write_transaction():
        for aggregate, op in order:
            for (agg, o, kind), rows in groups.items():
                if (agg, o) != (aggregate, op):
                    continue
                query = _query_for(aggregate, op, kind)
                for row in rows:
                    outcomes[_uid(row)] = "stale"  # unless the query reports otherwise
                for result in run(query, {"rows": rows, "force": force}):
                    if "applied" in result:  # entity upserts report the applied [uid, before] as one list
                        for uid, version in result["applied"]:
                            outcomes[uid] = "applied"
                            applied_before[uid] = version
                    else:
                        outcomes[result["uid"]] = result["outcome"]
                        if result["outcome"] == "applied":
                            applied_before[result["uid"]] = result["before"]
        if applied_before:
            run(_BUMP_GENERATION)
    if before is not None:
        before.update(applied_before)
    return outcomes


# An EMPTY graph (a first build, a benchmark) needs none of the upsert's lookups: no node,
# relationship or tombstone can exist yet. Relationship uid constraints are dropped for the
# load and created at the end (one index build instead of millions of index inserts).
BULK_ENTITY = {kind: f"""
{_ENTITY_ROW}
CREATE (m:Entity:{label})
SET m = {_ENTITY_MAP}
""" for kind, label in NODE_LABELS.items()}
BULK_RECORD = {kind: f"""
{_RECORD_ROW}
MATCH (a:Entity {{uid: r.s}})
MATCH (b:Entity {{uid: r.o}})
CREATE (a)-[m:{rel}]->(b)
SET m = {_RECORD_MAP}
RETURN count(m) AS n
""" for kind, rel in REL_TYPES.items()}


def graph_is_empty() -> bool:
    """True when the graph holds no entity and no tombstone (bulk_create() may be used)."""
    return run("OPTIONAL MATCH (n:Entity) WITH count(n) AS e OPTIONAL MATCH (t:Tombstone) "
               "WITH e, count(t) AS t RETURN e + t = 0 AS empty")[0]["empty"]


def bulk_create(changes: list[dict]) -> int:
    """Create the upserted objects of `changes` in an EMPTY graph, one transaction; returns
    how many were written. Records whose endpoints are missing are skipped (counted out).
    Only for a graph nothing else writes to (a first build; see graph_rebuild(fresh=True))."""
    groups: dict[tuple[str, str], list[dict]] = defaultdict(list)
    for change in changes:
        if change["op"] == "upsert":
            groups[(change["aggregate"], change["payload"]["kind"])].append(_row(change))
    written = 0
    with write_transaction():
        for (aggregate, kind), rows in groups.items():
            if aggregate == "entity":
                run(BULK_ENTITY[kind], {"rows": rows})
                written += len(rows)
            else:
                written += run(BULK_RECORD[kind], {"rows": rows})[0]["n"]
    return written


def bulk_schema_drop() -> list[str]:
    """Before a bulk load into an empty graph: drop every index and constraint but the entity
    uid constraint (the load's own lookups need it); bulk_schema_restore() makes them again,
    one index build each instead of millions of index inserts. Returns the names dropped."""
    import re

    names = [re.search(r"(?:CONSTRAINT|INDEX) (\S+)", s).group(1) for s in schema_statements()]
    dropped = [n for n in names if n != "constraint_unique_Entity_uid"]
    for name in dropped:
        kind = "CONSTRAINT" if name.startswith("constraint_") else "INDEX"
        run(f"DROP {kind} {name} IF EXISTS")
    return dropped


def bulk_schema_restore(timeout_s: int = 3600) -> None:
    """install_schema(), then wait until every index is populated (a bulk load's end)."""
    install_schema()
    run(f"CALL db.awaitIndexes({int(timeout_s)})")


def _query_for(aggregate: str, op: str, kind: str) -> str:
    if aggregate == "entity":
        return ENTITY_UPSERT[kind] if op == "upsert" else ENTITY_DELETE
    return RECORD_UPSERT[kind] if op == "upsert" else RECORD_DELETE[kind]


# graph_versions() reads (uid, kind, version) of millions of objects. One result row per object
# cost the driver ~16 µs of Python each (a Record per row): 6,000,000 rows were minutes. Instead
# Neo4j joins each object's three values into one line and collects a uid range into one list
# (one row, decoded in bulk), read through the uid index range by range so that no list holds
# more than about _VERSIONS_PER_LIST lines in Neo4j's heap. The ranges ("" up to "1", "1" up to
# "2", ..., "f" and above) cover every string uid, UUIDs or not.
_VERSIONS_PER_LIST = 250_000
_LINE = "coalesce({v}.uid, '') + ' ' + coalesce({v}.kind, '') + ' ' + coalesce(toString({v}.version), '')"
_VERSION_RANGE = {
    "Entity": "MATCH (n:Entity) WHERE n.uid >= $lo {hi} RETURN collect(" + _LINE.format(v="n") + ") AS lines",
    **{rel: "MATCH ()-[r:" + rel + "]->() WHERE r.uid >= $lo {hi} RETURN collect(" + _LINE.format(v="r") + ") AS lines"
       for rel in REL_TYPES.values()},
}
_VERSION_COUNT = {
    "Entity": "MATCH (n:Entity) RETURN count(n) AS n",
    **{rel: f"MATCH ()-[r:{rel}]->() RETURN count(r) AS n" for rel in REL_TYPES.values()},
}


def uid_ranges(count: int) -> list[tuple[str, str | None]]:
    """[lo, hi) uid ranges (hi None: no upper end) splitting `count` uniform uids into lists of
    at most about _VERSIONS_PER_LIST lines: one range, 16 ("" up to "1" ... "f" and above) or
    256 ("" up to "01" ...). graph_check (apps.sync.parity) compares the store and the graph
    range by range."""
    hexdigits = "0123456789abcdef"
    if count <= _VERSIONS_PER_LIST:
        bounds = []
    elif count <= 16 * _VERSIONS_PER_LIST:
        bounds = list(hexdigits[1:])
    else:
        bounds = [a + b for a in hexdigits for b in hexdigits][1:]
    lows = ["", *bounds]
    return list(zip(lows, [*bounds, None]))


def _versions_of(name: str) -> dict[str, tuple[str | None, int | None]]:
    out: dict[str, tuple[str | None, int | None]] = {}
    count = run(_VERSION_COUNT[name])[0]["n"]  # from Neo4j's count store: no scan
    for lo, hi in uid_ranges(count):
        query = _VERSION_RANGE[name].format(hi="" if hi is None else "AND {v}.uid < $hi".format(
            v="n" if name == "Entity" else "r"))
        for line in run(query, {"lo": lo, "hi": hi})[0]["lines"]:
            uid, kind, version = line.rsplit(" ", 2)
            out[uid] = (kind or None, int(version) if version.lstrip("-").isdigit() else (version or None))
    return out


# The same lines as _VERSION_RANGE, grouped by kind (graph_check's counts by kind come with
# them), every record type of a range in one query (UNION ALL: each branch an index seek).
_KIND_LINES = {
    "entity": ("MATCH (n:Entity) WHERE n.uid >= $lo {hi} WITH n.kind AS kind, collect("
               + _LINE.format(v="n") + ") AS lines RETURN kind, lines"),
    "record": ("CALL { " + " UNION ALL ".join(f"MATCH ()-[r:{rel}]->() WHERE r.uid >= $lo {{hi}} RETURN r"
                                               for rel in REL_TYPES.values())
               + " } WITH r.kind AS kind, collect(" + _LINE.format(v="r") + ") AS lines RETURN kind, lines"),
}


def version_lines(aggregate: str, lo: str, hi: str | None) -> list[tuple[str | None, list[str]]]:
    """The graph's entities or records (`aggregate`) with lo <= uid < hi (hi None: no upper
    end) as lines "uid kind version", grouped by kind: [(kind, lines)], in no set order."""
    v = "n" if aggregate == "entity" else "r"
    query = _KIND_LINES[aggregate].replace("{hi}", "" if hi is None else f"AND {v}.uid < $hi")
    return [(row["kind"], row["lines"]) for row in run(query, {"lo": lo, "hi": hi})]


def graph_versions() -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    """(entities, records) in the graph: uid -> (kind, version)."""
    entities = _versions_of("Entity")
    records: dict[str, tuple[str, int]] = {}
    for rel in REL_TYPES.values():
        records.update(_versions_of(rel))
    return entities, records


def graph_totals() -> tuple[int, int]:
    """(entities, records) in the graph, from Neo4j's count store (no scan)."""
    records = sum(run(_VERSION_COUNT[rel])[0]["n"] for rel in REL_TYPES.values())
    return run(_VERSION_COUNT["Entity"])[0]["n"], records


def graph_counts() -> tuple[dict[str, int], dict[str, int]]:
    """(entities by kind, records by kind) as Neo4j sees them."""
    entities = {r["kind"]: r["n"] for r in run(GRAPH_COUNTS_ENTITIES)}
    records = {r["kind"]: r["n"] for r in run(GRAPH_COUNTS_RECORDS, {"types": list(REL_TYPES.values())})}
    return entities, records


# The graph's generation: a counter bumped by every write transaction that changes what the
# graph holds, under a random epoch that a cleared graph (tests, benchmarks) starts afresh.
# Answers computed from the whole graph on a past date (the vendors overview, a country page)
# are cached under it (graph.queries.graph_generation), so a cached answer is never older
# than the graph: the bump commits with the change itself. Today's figures are snapshots
# (apps.catalog.selectors.aggregates) that keep its epoch: a cleared graph voids them.
_START_GENERATION = "MERGE (m:GraphMeta {key: 'generation'}) ON CREATE SET m.epoch = randomUUID(), m.n = 0"
_BUMP_GENERATION = """
MERGE (m:GraphMeta {key: 'generation'}) ON CREATE SET m.epoch = randomUUID(), m.n = 0
SET m.n = m.n + 1
"""


def prune(*, entity_uids: list[str], record_uids_by_kind: dict[str, list[str]]) -> None:
    """Remove graph objects that the store of record no longer has."""
    with write_transaction():
        for kind, uids in record_uids_by_kind.items():
            if uids:
                run(PRUNE_RECORDS[kind], {"uids": uids})
        if entity_uids:
            run(PRUNE_ENTITIES, {"uids": entity_uids})
        run(_BUMP_GENERATION)


def clear_graph() -> None:
    """Delete every node and relationship (tests and benchmarks; constraints stay)."""
    run(CLEAR_ALL)


# The shape of what the graph holds (property names and meanings). Bump it when a change
# to a payload makes nodes written before it wrong (2: an entity's review state is
# `workflow`, its names only the published ones); `graph_install` then rebuilds.
PROJECTION_VERSION = 2
_READ_PROJECTION = "MATCH (m:GraphMeta {key: 'projection'}) RETURN m.version AS version"
_WRITE_PROJECTION = "MERGE (m:GraphMeta {key: 'projection'}) SET m.version = $version"


def projection_version() -> int | None:
    """The projection version the graph was last rebuilt for (None: never recorded)."""
    rows = run(_READ_PROJECTION)
    return rows[0]["version"] if rows else None


def projection_version_set(version: int = PROJECTION_VERSION) -> None:
    run(_WRITE_PROJECTION, {"version": version})


def install_schema() -> None:
    """Create the uniqueness constraints and indexes of the graph classes (idempotent).

    Only `Entity` (with its relationship types) and `Tombstone` get them: the kind labels
    (Company, Person, ...) always sit on an `Entity` node, so per-kind copies of the same
    constraints would only slow every write down. Indexes that no query uses are dropped
    by `graph_install --prune` (see schema_prune()).
    """
    for statement in schema_statements():
        run(statement)
    # A graph projected before the generation existed starts one here (see _BUMP_GENERATION).
    run(_START_GENERATION)


def schema_statements() -> list[str]:
    """`CREATE ... IF NOT EXISTS` statements derived from the neomodel classes' properties
    (unique_index -> uniqueness constraint, index -> range index), named as neomodel names them."""
    from graph.models import GraphEntity, RecordRel, Tombstone

    statements = []
    for cls, label in ((GraphEntity, "Entity"), (Tombstone, "Tombstone")):
        for name, prop in cls.defined_properties(aliases=False, rels=False).items():
            if prop.unique_index:
                statements.append(f"CREATE CONSTRAINT constraint_unique_{label}_{name} IF NOT EXISTS "
                                  f"FOR (n:{label}) REQUIRE n.{name} IS UNIQUE")
            elif prop.index:
                statements.append(f"CREATE INDEX index_{label}_{name} IF NOT EXISTS FOR (n:{label}) ON (n.{name})")
    for rel_type in REL_TYPES.values():
        for name, prop in RecordRel.defined_properties(aliases=False, rels=False).items():
            if prop.unique_index:
                statements.append(f"CREATE CONSTRAINT constraint_unique_{rel_type}_{name} IF NOT EXISTS "
                                  f"FOR ()-[r:{rel_type}]-() REQUIRE r.{name} IS UNIQUE")
    return statements


SHOW_SCHEMA = """
SHOW INDEXES YIELD name, type, owningConstraint
WHERE type <> 'LOOKUP'
RETURN name, owningConstraint
"""


def schema_prune() -> list[str]:
    """Drop constraints and indexes that schema_statements() does not define (e.g. per-kind
    copies an older install created). Returns the names dropped."""
    import re

    wanted = {re.search(r"(?:CONSTRAINT|INDEX) (\S+)", s).group(1) for s in schema_statements()}
    dropped = []
    for row in run(SHOW_SCHEMA):
        name = row["owningConstraint"] or row["name"]
        if name in wanted or name in dropped:
            continue
        if not re.fullmatch(r"[A-Za-z0-9_]+", name):
            continue
        run(f"DROP CONSTRAINT {name} IF EXISTS" if row["owningConstraint"] else f"DROP INDEX {name} IF EXISTS")
        dropped.append(name)
    return dropped
