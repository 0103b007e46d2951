"""Rebuild the graph from the store of record, and check that the two agree."""
from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from apps.catalog.models import Entity, Record
from graph import sync as graph_sync

# Objects per Neo4j transaction: big enough that the per-transaction cost vanishes, small
# enough that one batch's parameters (~2 KB a record) stay a few tens of MB.
REBUILD_BATCH = 10_000


@dataclass
class ParityReport:
    store_counts: dict[str, dict[str, int]]
    graph_counts: dict[str, dict[str, int]]
    store_hash: str
    graph_hash: str
    differences: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.differences


def _store_versions() -> tuple[dict[str, tuple[str, int]], dict[str, tuple[str, int]]]:
    # No ORDER BY (the models' default orderings, by name and by date, made the database sort
    # every row first): the comparison is by key.
    entities = {str(u): (k, v) for u, k, v in
                Entity.objects.order_by().values_list("uuid", "kind", "version").iterator(chunk_size=20_000)}
    records = {str(u): (k, v) for u, k, v in
               Record.objects.order_by().values_list("uuid", "kind", "version").iterator(chunk_size=20_000)}
    return entities, records


# graph_check at 1,000,000 entities / 5,000,000 records: reading 6 million store versions as
# Python objects and hashing both sides one line at a time was most of its time. Now both
# sides are cut into the same uid ranges (graph.sync.uid_ranges) and each range is reduced to
# one digest of its sorted lines "uid kind version": on PostgreSQL the store's digests come
# from one aggregating query per table (no row reaches Python), on SQLite from plain string
# rows; the store's side is computed in a thread while the graph's is read. Only a range
# whose digests differ is read again and compared object by object.
_EMPTY_DIGEST = hashlib.sha256(b"").hexdigest()
# The uuid as the graph spells it (SQLite keeps 32 hex digits without dashes).
_SQLITE_UID = ("substr(uuid, 1, 8) || '-' || substr(uuid, 9, 4) || '-' || substr(uuid, 13, 4) || '-' || "
               "substr(uuid, 17, 4) || '-' || substr(uuid, 21)")


def _digest(lines: list[str]) -> str:
    """sha256 of a range's lines, sorted, one per line (PostgreSQL's string_agg ORDER BY uuid
    gives the same bytes: uuids of one length and lower-case hex sort alike as text and bytes)."""
    return hashlib.sha256("\n".join(lines).encode()).hexdigest()


def _store_lines(model, lo: str, hi: str | None) -> list[str]:
    """The store's lines "uid kind version" with lo <= uid < hi, sorted."""
    from django.db import connection

    postgres = connection.vendor == "postgresql"

    def bound(prefix: str) -> str:  # the ranges' bounds are hex prefixes
        return str(uuid.UUID(hex=prefix.ljust(32, "0"))) if postgres else prefix

    where, params = [], []
    if lo:
        where.append("uuid >= %s")
        params.append(bound(lo))
    if hi is not None:
        where.append("uuid < %s")
        params.append(bound(hi))
    uid = "uuid::text" if postgres else _SQLITE_UID
    sql = (f"SELECT {uid} || ' ' || kind || ' ' || version FROM {connection.ops.quote_name(model._meta.db_table)}"
           f"{' WHERE ' + ' AND '.join(where) if where else ''} ORDER BY uuid")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [line for (line,) in cursor.fetchall()]


def _store_digests(model, ranges: list) -> list[str]:
    """The digest of every range of the store's table."""
    from django.db import connection

    if connection.vendor != "postgresql":
        return [_digest(_store_lines(model, lo, hi)) for lo, hi in ranges]
    width = {1: 0, 16: 1, 256: 2}[len(ranges)]  # a range's low bound is its uids' first hex digits
    digests = [_EMPTY_DIGEST] * len(ranges)
    table = connection.ops.quote_name(model._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(f"""SELECT substr(uuid::text, 1, %s) AS prefix,
                                  encode(sha256(convert_to(string_agg(uuid::text || ' ' || kind || ' ' || version,
                                                                      E'\\n' ORDER BY uuid), 'UTF8')), 'hex')
                           FROM {table} GROUP BY prefix""", [width])
        for prefix, digest in cursor.fetchall():
            digests[int(prefix, 16) if prefix else 0] = digest
    return digests


def _graph_lines(name: str, lo: str, hi: str | None) -> tuple[list[str], dict]:
    """The graph's lines of a range, sorted, and their count by kind."""
    lines: list[str] = []
    kinds: dict = {}
    for kind, some in graph_sync.version_lines(name, lo, hi):
        kinds[kind or None] = kinds.get(kind or None, 0) + len(some)
        lines.extend(some)
    lines.sort()
    return lines, kinds


def _parse(lines: list[str]) -> tuple[dict[str, tuple[str | None, int | str | None]], list[str]]:
    """uid -> (kind, version) of `lines`, and the uids that occur more than once."""
    out: dict[str, tuple[str | None, int | str | None]] = {}
    repeated = []
    for line in lines:
        uid, kind, version = line.rsplit(" ", 2)
        if uid in out:
            repeated.append(uid)
        out[uid] = (kind or None, int(version) if version.lstrip("-").isdigit() else (version or None))
    return out, repeated


def _range_differences(name: str, store_lines: list[str], graph_lines: list[str]) -> tuple[list, list, list]:
    """(missing from the graph, extra in the graph, changed or repeated) of one uid range."""
    store, _ = _parse(store_lines)
    graph, repeated = _parse(graph_lines)
    missing = [f"{name} {uid} ({store[uid][0]} v{store[uid][1]}) missing from the graph"
               for uid in sorted(store.keys() - graph.keys())]
    extra = [f"{name} {uid} ({graph[uid][0]} v{graph[uid][1]}) in the graph but not in the store"
             for uid in sorted(graph.keys() - store.keys())]
    changed = [f"{name} {uid}: store {store[uid][0]} v{store[uid][1]}, graph {graph[uid][0]} v{graph[uid][1]}"
               for uid in sorted(store.keys() & graph.keys()) if store[uid] != graph[uid]]
    changed += [f"{name} {uid} is in the graph {repeated.count(uid) + 1} times" for uid in sorted(set(repeated))]
    return missing, extra, changed


def _by_kind(counts: dict) -> dict[str, int]:
    return dict(sorted(counts.items(), key=lambda item: (item[0] is None, item[0] or "")))


def _in_thread(fn, *, threaded: bool):
    """Start fn() in a thread (its own database connection, closed at the end); returns a
    function that waits for its result. Inside a transaction (tests) a thread would not see
    uncommitted rows, so fn() then runs at once, here."""
    if not threaded:
        result = fn()
        return lambda: result
    import threading

    from django.db import connection as thread_connection

    outcome: dict = {}

    def target():
        try:
            outcome["result"] = fn()
        except BaseException as exc:  # raised in the caller by wait()
            outcome["error"] = exc
        finally:
            thread_connection.close()

    thread = threading.Thread(target=target, daemon=True)
    thread.start()

    def wait():
        thread.join()
        if "error" in outcome:
            raise outcome["error"]
        return outcome["result"]
    return wait


def parity_check(*, max_listed: int = 50) -> ParityReport:
    """Compare counts and per-object versions of the store of record and the graph: every
    object missing from either side, in the graph twice, or of another kind or version."""
    from django.db import connection
    from django.db.models import Count

    in_graph = dict(zip(("entity", "record"), graph_sync.graph_totals()))
    plan, store_counts, graph_counts = [], {}, {}
    for name, model, plural in (("entity", Entity, "entities"), ("record", Record, "records")):
        kinds = {row["kind"]: row["n"] for row in model.objects.order_by().values("kind").annotate(n=Count("id"))}
        store_counts[plural] = _by_kind(kinds)
        plan.append((name, model, plural, graph_sync.uid_ranges(max(sum(kinds.values()), in_graph[name]))))
    # The store's digests (its database server's work) while the graph's are read here (Neo4j's).
    store_digests = _in_thread(lambda: [_store_digests(model, ranges) for _, model, _, ranges in plan],
                               threaded=not connection.in_atomic_block)
    graph_digests = []
    for name, _model, plural, ranges in plan:
        g_kinds: dict = {}
        digests = []
        for lo, hi in ranges:
            lines, kinds = _graph_lines(name, lo, hi)
            for kind, n in kinds.items():
                g_kinds[kind] = g_kinds.get(kind, 0) + n
            digests.append(_digest(lines))
        graph_counts[plural] = _by_kind(g_kinds)
        graph_digests.append(digests)
    store_hash, graph_hash = hashlib.sha256(), hashlib.sha256()
    diffs: list[str] = []
    for (name, model, _plural, ranges), s_digests, g_digests in zip(plan, store_digests(), graph_digests):
        found: tuple[list, list, list] = ([], [], [])
        for i, (lo, hi) in enumerate(ranges):
            store_hash.update(f"{name} {i} {s_digests[i]}\n".encode())
            graph_hash.update(f"{name} {i} {g_digests[i]}\n".encode())
            if s_digests[i] != g_digests[i]:
                for listed, more in zip(found, _range_differences(name, _store_lines(model, lo, hi),
                                                                  _graph_lines(name, lo, hi)[0])):
                    listed += more
        diffs += found[0] + found[1] + found[2]
    return ParityReport(store_counts=store_counts, graph_counts=graph_counts, store_hash=store_hash.hexdigest(),
                        graph_hash=graph_hash.hexdigest(), differences=diffs)


def _entity_changes(batch_size: int) -> Iterator[list[dict]]:
    """Every entity as upsert changes, `batch_size` at a time, read as plain rows in id order
    (keyset pages: no OFFSET, no model instances, names fetched per page in one query)."""
    from apps.catalog.models.entities import entity_graph_payload
    from apps.catalog.selectors.visibility import public_alias_names_by_entity

    fields = ("id", "uuid", "kind", "name", "country", "iso_code", "state_owned", "workflow", "version")
    last = 0
    while True:
        rows = list(Entity.objects.filter(id__gt=last).order_by("id").values_list(*fields)[:batch_size])
        if not rows:
            return
        aliases = public_alias_names_by_entity(first_id=rows[0][0], last_id=rows[-1][0])
        last = rows[-1][0]
        yield [{"aggregate": "entity", "op": "upsert", "uid": str(uid), "version": version,
                "payload": entity_graph_payload(uid=str(uid), kind=kind, name=name, aliases=aliases.get(pk, []),
                                                country=country, iso_code=iso_code, state_owned=state_owned,
                                                workflow=workflow)}
               for pk, uid, kind, name, country, iso_code, state_owned, workflow, version in rows]


def _record_changes(batch_size: int) -> Iterator[list[dict]]:
    """Every record as upsert changes, like _entity_changes (its sources fetched per page)."""
    from apps.catalog.models import Citation
    from apps.catalog.models.records import RECORD_PAYLOAD_FIELDS, record_graph_payload

    ends = ("subject__uuid", "object__uuid", "site__uuid", "party__uuid", "related__uuid")
    fields = ("id", "version", *ends, *RECORD_PAYLOAD_FIELDS)
    last = 0
    while True:
        rows = list(Record.objects.filter(id__gt=last).order_by("id").values(*fields)[:batch_size])
        if not rows:
            return
        sources: dict[int, set] = {}
        for record_id, source_uuid, publisher in Citation.objects.filter(
                record_id__gte=rows[0]["id"], record_id__lte=rows[-1]["id"]).values_list(
                "record_id", "source__uuid", "source__publisher").order_by():
            sources.setdefault(record_id, set()).add((source_uuid, publisher))
        last = rows[-1]["id"]

        def uid(value):
            return None if value is None else str(value)

        yield [{"aggregate": "record", "op": "upsert", "uid": str(row["uuid"]), "version": row["version"],
                "payload": record_graph_payload(row, s=str(row["subject__uuid"]), o=str(row["object__uuid"]),
                                                site=uid(row["site__uuid"]), party=uid(row["party__uuid"]),
                                                related=uid(row["related__uuid"]), sources=sources.get(row["id"], ()))}
               for row in rows]


def _prefetched(batches: Iterator[list[dict]], *, threaded: bool) -> Iterator[list[dict]]:
    """Yield `batches`, reading the next one in a thread while the caller writes the last
    one to Neo4j (the store read and the graph write then overlap). Inside a transaction
    (tests) a thread would not see uncommitted rows, so batches are read inline."""
    if not threaded:
        yield from batches
        return
    import queue
    import threading

    from django.db import connection as thread_connection

    pending: queue.Queue = queue.Queue(maxsize=2)
    done = object()

    def produce():
        try:
            for batch in batches:
                pending.put(batch)
            pending.put(done)
        except BaseException as exc:  # handed to the consumer, raised there
            pending.put(exc)
        finally:
            thread_connection.close()

    thread = threading.Thread(target=produce, daemon=True)
    thread.start()
    while True:
        item = pending.get()
        if item is done:
            break
        if isinstance(item, BaseException):
            raise item
        yield item
    thread.join()


def graph_rebuild(*, batch_size: int = REBUILD_BATCH, fresh: bool = False, stdout=None) -> dict:
    """Write the whole store of record into the graph, then remove what the store lacks.

    Upserts come first and pruning last, so readers never see an empty graph. The store is
    streamed in id order, `batch_size` objects per Neo4j transaction, the next batch read
    while the last one is written. With `fresh` the graph must be empty (a first build, a
    benchmark: ValueError otherwise) and nothing else may write to it meanwhile: objects are
    created without the upsert's lookups, the indexes (but the entity uid one) are built at
    the end, and there is nothing to prune. Returns the counts and the seconds each phase took.
    """
    from django.db import connection

    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)
    written: dict = {"entities": 0, "records": 0, "pruned": 0}
    threaded = not connection.in_atomic_block
    started = time.monotonic()
    if fresh:
        if not graph_sync.graph_is_empty():
            raise ValueError("graph_rebuild(fresh=True) needs an empty graph")
        graph_sync.bulk_schema_drop()

        def write(batch):
            graph_sync.bulk_create(batch)
    else:
        def write(batch):
            graph_sync.apply_changes(batch, force=True)
    try:
        for name, changes in (("entities", _entity_changes(batch_size)), ("records", _record_changes(batch_size))):
            phase = time.monotonic()
            for batch in _prefetched(changes, threaded=threaded):
                write(batch)
                written[name] += len(batch)
                if written[name] % (batch_size * 50) < batch_size:
                    say(f"  {written[name]} {name} written ({time.monotonic() - phase:.0f} s)")
            written[f"seconds_{name}"] = round(time.monotonic() - phase, 1)
    finally:
        if fresh:
            phase = time.monotonic()
            graph_sync.bulk_schema_restore()
            written["seconds_constraints"] = round(time.monotonic() - phase, 1)

    phase = time.monotonic()
    if not fresh:
        s_entities, s_records = _store_versions()
        g_entities, g_records = graph_sync.graph_versions()
        extra_entities = sorted(g_entities.keys() - s_entities.keys())
        extra_records: dict[str, list[str]] = {}
        for uid in g_records.keys() - s_records.keys():
            extra_records.setdefault(g_records[uid][0], []).append(uid)
        graph_sync.prune(entity_uids=extra_entities, record_uids_by_kind=extra_records)
        written["pruned"] = len(extra_entities) + sum(len(v) for v in extra_records.values())
    written["seconds_prune"] = round(time.monotonic() - phase, 1)
    written["seconds"] = round(time.monotonic() - started, 1)
    return written
