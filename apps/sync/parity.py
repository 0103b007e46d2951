"""Rebuild the graph from the store of record, and check that the two agree."""
from __future__ import annotations

import hashlib
import time
import uuid
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import CharField
from django.db.models.functions import Cast

from apps.catalog.models import Entity, Record
from apps.sync.bulk import id_slices
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


def _id_range_filter(id_range: tuple[int, int] | None) -> dict:
    return {} if id_range is None else {"id__gte": id_range[0], "id__lte": id_range[1]}


def _uuid_text(column: str) -> Cast:
    """A uuid column read as text: 32 hex digits on SQLite, dashed on PostgreSQL; _dashed()
    gives the form str(UUID) gives. (Django's UUID objects cost ~5 µs each, and a record has
    up to seven. Dashing them in SQLite's SQL cost 3 µs a record, in Python about 1.)"""
    return Cast(column, CharField())


def _dashed(value: str | None) -> str | None:
    if value is None or len(value) == 36:
        return value
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


_ENTITY_FIELDS = ("id", "t_uuid", "version", "kind", "name", "country", "iso_code", "state_owned", "workflow")
_RECORD_TEXTS = {"t_uuid": "uuid", "t_s": "subject__uuid", "t_o": "object__uuid", "t_site": "site__uuid",
                 "t_party": "party__uuid", "t_related": "related__uuid"}


def _entity_query():
    return Entity.objects.annotate(t_uuid=_uuid_text("uuid"))


def _entity_plain(rows: list[tuple], aliases: dict[int, list[str]]) -> list[tuple]:
    """Entity rows (_ENTITY_FIELDS) and their published names as plain rows (kind, uid,
    version, *entity_graph_props)."""
    from apps.catalog.models.entities import entity_graph_props

    no_names: list = []
    return [(kind, _dashed(uid), version, entity_graph_props(kind, name, aliases.get(pk, no_names), country, iso_code,
                                                             state_owned, workflow))
            for pk, uid, version, kind, name, country, iso_code, state_owned, workflow in rows]


def _entity_pages(batch_size: int, id_range: tuple[int, int] | None) -> Iterator[list[tuple]]:
    """Every entity (with an id in `id_range`, both ends included) as plain rows (kind, uid,
    version, *entity_graph_props), `batch_size` at a time in id order (keyset pages: no
    OFFSET, no model instances, published names fetched per page in one query)."""
    from apps.catalog.selectors.visibility import public_alias_names_by_entity

    last = 0
    within = _id_range_filter(id_range)
    query = _entity_query().order_by("id")
    while True:
        rows = list(query.filter(id__gt=last, **within).values_list(*_ENTITY_FIELDS)[:batch_size])
        if not rows:
            return
        aliases = public_alias_names_by_entity(first_id=rows[0][0], last_id=rows[-1][0])
        last = rows[-1][0]
        yield _entity_plain(rows, aliases)


def _entity_changes(batch_size: int, *, id_range: tuple[int, int] | None = None) -> Iterator[list[dict]]:
    """_entity_pages as the online writer's upsert changes."""
    for rows in _entity_pages(batch_size, id_range):
        yield _entity_upserts(rows)


def _entity_upserts(rows: list[tuple]) -> list[dict]:
    from apps.catalog.models.entities import entity_graph_payload_of_props

    return [{"aggregate": "entity", "op": "upsert", "uid": uid, "version": version,
             "payload": entity_graph_payload_of_props(uid=uid, kind=kind, props=props)}
            for kind, uid, version, props in rows]


def _record_query():
    return Record.objects.annotate(**{name: _uuid_text(column) for name, column in _RECORD_TEXTS.items()})


def _record_fields() -> tuple:
    from apps.catalog.models.records import RECORD_PAYLOAD_FIELDS

    # record_graph_props' arguments, in its order (uuid: t_uuid)
    return ("id", "version", *_RECORD_TEXTS, *RECORD_PAYLOAD_FIELDS[1:])


def _record_plain(rows: list[tuple], sources: dict[int, list]) -> list[tuple]:
    """Record rows (_record_fields()) and their citations' (source uuid, publisher) as plain
    rows (kind, uid, version, s, o, *record_graph_props)."""
    from apps.catalog.models.records import RECORD_PAYLOAD_FIELDS, record_graph_props

    width = len(RECORD_PAYLOAD_FIELDS) - 1
    no_sources: list = []
    return [(row[8], _dashed(row[2]), row[1], _dashed(row[3]), _dashed(row[4]),
             record_graph_props(*row[8:8 + width], row[5] and _dashed(row[5]), row[6] and _dashed(row[6]),
                                row[7] and _dashed(row[7]), sources.get(row[0], no_sources)))
            for row in rows]


def _record_sources(**within) -> dict[int, list]:
    """The (source uuid, publisher) of the citations of the records `within` selects."""
    from apps.catalog.models import Citation

    sources: dict[int, list] = {}
    for record_id, source_uuid, publisher in Citation.objects.filter(**within).annotate(
            t_source=_uuid_text("source__uuid")).values_list("record_id", "t_source", "source__publisher").order_by():
        sources.setdefault(record_id, []).append((_dashed(source_uuid), publisher))
    return sources


def _record_pages(batch_size: int, id_range: tuple[int, int] | None) -> Iterator[list[tuple]]:
    """Every record as plain rows (kind, uid, version, s, o, *record_graph_props), like
    _entity_pages (its citations' sources fetched per page)."""
    fields = _record_fields()
    last = 0
    within = _id_range_filter(id_range)
    query = _record_query().order_by("id")
    while True:
        rows = list(query.filter(id__gt=last, **within).values_list(*fields)[:batch_size])
        if not rows:
            return
        sources = _record_sources(record_id__gte=rows[0][0], record_id__lte=rows[-1][0])
        last = rows[-1][0]
        yield _record_plain(rows, sources)


def _record_changes(batch_size: int, *, id_range: tuple[int, int] | None = None) -> Iterator[list[dict]]:
    """_record_pages as the online writer's upsert changes."""
    for rows in _record_pages(batch_size, id_range):
        yield _record_upserts(rows)


def _record_upserts(rows: list[tuple]) -> list[dict]:
    from apps.catalog.models.records import record_graph_payload_of_props

    return [{"aggregate": "record", "op": "upsert", "uid": uid, "version": version,
             "payload": record_graph_payload_of_props(uid=uid, kind=kind, s=s, o=o, props=props)}
            for kind, uid, version, s, o, props in rows]


def store_upserts(aggregate: str, uids: list[str]) -> dict[str, dict]:
    """The upsert change (uid, version, payload) of each of these entities or records as the
    store holds it now, by uid; a uid the store no longer holds is absent. The outbox's drain
    reads the payloads of the rows a bulk write left to be read at delivery (see
    apps.sync.services.outbox_emit_bulk): the same projection as the rebuild's."""
    from apps.catalog.selectors.visibility import public_alias_names_by_entity

    found: dict[str, dict] = {}
    for some in id_slices(uids):
        if aggregate == "entity":
            rows = list(_entity_query().filter(uuid__in=some).values_list(*_ENTITY_FIELDS))
            changes = _entity_upserts(_entity_plain(rows, public_alias_names_by_entity(ids=[r[0] for r in rows])))
        else:
            rows = list(_record_query().filter(uuid__in=some).values_list(*_record_fields()))
            changes = _record_upserts(_record_plain(rows, _record_sources(record_id__in=[r[0] for r in rows])))
        found.update((change["uid"], change) for change in changes)
    return found


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


def _csv_part(folder, entity_range, record_range, batch_size: int, threaded: bool):
    """Write the entities and records of two id ranges into CSV files of their own (one
    export process's share); returns the closed graph.bulk_import.CsvFiles."""
    import gc

    from apps.catalog.models.entities import ENTITY_GRAPH_PROPS
    from apps.catalog.models.records import RECORD_GRAPH_PROPS
    from graph import bulk_import

    files = bulk_import.CsvFiles(folder, entity_props=ENTITY_GRAPH_PROPS, record_props=RECORD_GRAPH_PROPS)
    # The export allocates millions of short-lived tuples and strings and makes no garbage
    # cycles of note: the cyclic collector's passes over them were a third of its CPU time.
    collecting = gc.isenabled()
    gc.disable()
    try:
        for rows in _prefetched(_entity_pages(batch_size, entity_range), threaded=threaded):
            files.write_entities(rows)
        for rows in _prefetched(_record_pages(batch_size, record_range), threaded=threaded):
            files.write_records(rows)
    finally:
        files.close()
        if collecting:
            gc.enable()
    return files


def _id_ranges(model, parts: int) -> list[tuple[int, int]]:
    """`parts` consecutive id ranges covering every row of `model` (ids need not be dense)."""
    from django.db.models import Max, Min

    bounds = model.objects.order_by().aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return [(1, 0)] * parts  # no rows: empty ranges
    lo, hi = bounds["lo"], bounds["hi"]
    step = (hi - lo) // parts + 1
    return [(lo + i * step, min(hi, lo + (i + 1) * step - 1)) for i in range(parts)]


def _csv_parts(folder, *, batch_size: int, workers: int, say) -> list:
    """Export the store into CSV files, in `workers` processes (forked: the Python side of the
    export, ~13 µs of CPU a record, is what bounds it) over id ranges; inline inside a transaction
    (tests), whose rows another connection would not see."""
    from django.db import connection, connections

    if connection.in_atomic_block or workers <= 1:
        return [_csv_part(folder / "part-0", None, None, batch_size, not connection.in_atomic_block)]
    import multiprocessing

    parts = workers * 4  # smaller shares: the processes finish together, progress shows
    jobs = [(folder / f"part-{i}", e, r, batch_size, False)
            for i, (e, r) in enumerate(zip(_id_ranges(Entity, parts), _id_ranges(Record, parts)))]
    connections.close_all()  # each process opens its own connection
    started = time.monotonic()
    done = []
    with multiprocessing.get_context("fork").Pool(workers) as pool:
        for files in pool.imap_unordered(_csv_part_job, jobs):
            done.append(files)
            say(f"  CSV part {len(done)}/{parts}: {sum(f.nodes for f in done)} entities, "
                f"{sum(f.relationships for f in done)} records ({time.monotonic() - started:.0f} s)")
    return done


def _csv_part_job(job):
    return _csv_part(*job)


def _cpu_seconds() -> float:
    """CPU seconds (user + system) of this process and its finished children (the export
    processes, the importer): on a shared machine the wall clock measures the neighbours too."""
    import resource

    own, children = resource.getrusage(resource.RUSAGE_SELF), resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def graph_rebuild_bulk(*, data_dir, server_options: dict, batch_size: int = REBUILD_BATCH,
                       import_heap: str = "1g", import_off_heap: str = "2g", workers: int | None = None,
                       keep_csv: bool = False, stdout=None) -> dict:
    """OFFLINE rebuild of the whole graph with Neo4j's bulk importer, replacing what it held.

    Stops the Neo4j server of `data_dir` (the launcher's; pages answer "graph unavailable"
    and the outbox waits until it is back), streams the store of record into the importer's
    CSV files in `<data_dir>/import-csv` (the same changes, in the same keyset pages, as
    graph_rebuild: one projection; `workers` processes, default one per CPU), runs
    `neo4j-admin database import full`, starts the server again with `server_options`
    (graph.server.start's keywords) and builds the schema. Stopping before reading the store
    keeps it correct with writers running: a change read too late for the CSV is still
    pending in the outbox, and is applied (or found stale by its version) once the server is
    back. Returns counts and phase seconds.
    """
    import os
    import shutil
    from pathlib import Path

    from graph import bulk_import, server
    from graph.connection import close_driver

    say = (lambda msg: stdout.write(msg)) if stdout else (lambda msg: None)
    data_dir = Path(data_dir).expanduser().resolve()
    started = phase = time.monotonic()
    cpu = _cpu_seconds()
    close_driver()
    server.stop(data_dir=data_dir)
    written: dict = {"seconds_stop": round(time.monotonic() - phase, 1)}
    say(f"  Neo4j of {data_dir} stopped ({written['seconds_stop']:.0f} s): the graph is offline until the end")
    folder = data_dir / "import-csv"
    shutil.rmtree(folder, ignore_errors=True)
    failed = True
    try:
        phase = time.monotonic()
        parts = _csv_parts(folder, batch_size=batch_size, workers=workers or os.cpu_count() or 1, say=say)
        written["entities"] = sum(f.nodes for f in parts)
        written["records"] = sum(f.relationships for f in parts)
        written["seconds_csv"] = round(time.monotonic() - phase, 1)
        written["cpu_csv"], cpu = round(_cpu_seconds() - cpu, 1), _cpu_seconds()
        say(f"  {written['entities']} entities and {written['records']} records written to CSV in "
            f"{written['seconds_csv']:.0f} s; importing ...")
        imported = bulk_import.import_full(data_dir=data_dir, files=parts, heap=import_heap, off_heap=import_off_heap)
        written["seconds_import"] = imported["seconds"]
        written["cpu_import"] = round(_cpu_seconds() - cpu, 1)  # the importer's JVM: a child process
        say(f"  imported {imported['nodes']} nodes and {imported['relationships']} relationships in "
            f"{imported['seconds']:.0f} s")
        failed = False
    finally:
        if not keep_csv:
            shutil.rmtree(folder, ignore_errors=True)
        phase = time.monotonic()
        try:
            server.start(data_dir=data_dir, **server_options)
        except server.Neo4jServerError:
            if not failed:
                raise  # else the import's own error says more
        written["seconds_start"] = round(time.monotonic() - phase, 1)
    phase = time.monotonic()
    graph_sync.bulk_schema_restore()
    graph_sync.projection_version_set()
    written["seconds_indexes"] = round(time.monotonic() - phase, 1)
    written["seconds"] = round(time.monotonic() - started, 1)
    return written
