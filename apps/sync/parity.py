"""Rebuild the graph from the store of record, and check that the two agree."""
from __future__ import annotations

import hashlib
import time
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


def _hash(entities: dict, records: dict) -> str:
    digest = hashlib.sha256()
    for name, items in (("e", entities), ("r", records)):
        for uid in sorted(items):
            kind, version = items[uid]
            digest.update(f"{name}|{uid}|{kind}|{version}\n".encode())
    return digest.hexdigest()


def _by_kind(items: dict) -> dict[str, int]:
    counts: dict[str, int] = {}
    for kind, _version in items.values():
        counts[kind] = counts.get(kind, 0) + 1
    return dict(sorted(counts.items()))


def parity_check(*, max_listed: int = 50) -> ParityReport:
    """Compare counts and per-object versions of the store of record and the graph."""
    s_entities, s_records = _store_versions()
    g_entities, g_records = graph_sync.graph_versions()
    report = ParityReport(
        store_counts={"entities": _by_kind(s_entities), "records": _by_kind(s_records)},
        graph_counts={"entities": _by_kind(g_entities), "records": _by_kind(g_records)},
        store_hash=_hash(s_entities, s_records),
        graph_hash=_hash(g_entities, g_records),
    )
    diffs: list[str] = []
    for name, store, graph in (("entity", s_entities, g_entities), ("record", s_records, g_records)):
        for uid in sorted(store.keys() - graph.keys()):
            diffs.append(f"{name} {uid} ({store[uid][0]} v{store[uid][1]}) missing from the graph")
        for uid in sorted(graph.keys() - store.keys()):
            diffs.append(f"{name} {uid} ({graph[uid][0]} v{graph[uid][1]}) in the graph but not in the store")
        for uid in sorted(store.keys() & graph.keys()):
            if store[uid] != graph[uid]:
                diffs.append(f"{name} {uid}: store {store[uid][0]} v{store[uid][1]}, graph {graph[uid][0]} v{graph[uid][1]}")
    report.differences = diffs
    return report


def _id_range_filter(id_range: tuple[int, int] | None) -> dict:
    return {} if id_range is None else {"id__gte": id_range[0], "id__lte": id_range[1]}


def _entity_changes(batch_size: int, *, id_range: tuple[int, int] | None = None) -> Iterator[list[dict]]:
    """Every entity (with an id in `id_range`, both ends included) as upsert changes,
    `batch_size` at a time, read as plain rows in id order (keyset pages: no OFFSET, no model
    instances, names fetched per page in one query)."""
    from apps.catalog.models.entities import entity_graph_payload
    from apps.catalog.selectors.visibility import public_alias_names_by_entity

    fields = ("id", "uuid", "kind", "name", "country", "iso_code", "state_owned", "workflow", "version")
    last = 0
    within = _id_range_filter(id_range)
    while True:
        rows = list(Entity.objects.filter(id__gt=last, **within).order_by("id").values_list(*fields)[:batch_size])
        if not rows:
            return
        aliases = public_alias_names_by_entity(first_id=rows[0][0], last_id=rows[-1][0])
        last = rows[-1][0]
        yield [{"aggregate": "entity", "op": "upsert", "uid": str(uid), "version": version,
                "payload": entity_graph_payload(uid=str(uid), kind=kind, name=name, aliases=aliases.get(pk, []),
                                                country=country, iso_code=iso_code, state_owned=state_owned,
                                                workflow=workflow)}
               for pk, uid, kind, name, country, iso_code, state_owned, workflow, version in rows]


def _uuid_text(value: str | None) -> str | None:
    """A uuid column read as text (Cast): 32 hex digits on SQLite, dashed on PostgreSQL; the
    dashed form, as str(UUID) gives it. (Django's UUID objects cost ~5 µs each, and a record
    has up to seven: reading them as text took a third off the record reader's Python time.)"""
    if value is None or len(value) == 36:
        return value
    return f"{value[:8]}-{value[8:12]}-{value[12:16]}-{value[16:20]}-{value[20:]}"


def _record_changes(batch_size: int, *, id_range: tuple[int, int] | None = None) -> Iterator[list[dict]]:
    """Every record as upsert changes, like _entity_changes (its sources fetched per page)."""
    from django.db.models import CharField
    from django.db.models.functions import Cast

    from apps.catalog.models import Citation
    from apps.catalog.models.records import RECORD_PAYLOAD_FIELDS, record_graph_payload

    texts = {"t_uuid": "uuid", "t_s": "subject__uuid", "t_o": "object__uuid", "t_site": "site__uuid",
             "t_party": "party__uuid", "t_related": "related__uuid"}
    casts = {name: Cast(column, CharField()) for name, column in texts.items()}
    fields = ("id", "version", *texts, *(f for f in RECORD_PAYLOAD_FIELDS if f != "uuid"))
    last = 0
    within = _id_range_filter(id_range)
    while True:
        rows = list(Record.objects.filter(id__gt=last, **within).annotate(**casts).order_by("id")
                    .values(*fields)[:batch_size])
        if not rows:
            return
        sources: dict[int, set] = {}
        for record_id, source_uuid, publisher in Citation.objects.filter(
                record_id__gte=rows[0]["id"], record_id__lte=rows[-1]["id"]).annotate(
                t_source=Cast("source__uuid", CharField())).values_list(
                "record_id", "t_source", "source__publisher").order_by():
            sources.setdefault(record_id, set()).add((_uuid_text(source_uuid), publisher))
        last = rows[-1]["id"]
        changes = []
        for row in rows:
            row["uuid"] = _uuid_text(row["t_uuid"])
            changes.append({"aggregate": "record", "op": "upsert", "uid": row["uuid"], "version": row["version"],
                            "payload": record_graph_payload(
                                row, s=_uuid_text(row["t_s"]), o=_uuid_text(row["t_o"]),
                                site=_uuid_text(row["t_site"]), party=_uuid_text(row["t_party"]),
                                related=_uuid_text(row["t_related"]), sources=sources.get(row["id"], ()))})
        yield changes


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
    from graph import bulk_import

    files = bulk_import.CsvFiles(folder)
    try:
        for changes in (_entity_changes(batch_size, id_range=entity_range),
                        _record_changes(batch_size, id_range=record_range)):
            for batch in _prefetched(changes, threaded=threaded):
                files.write(batch)
    finally:
        files.close()
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
    export, ~40 µs a record, is what bounds it) over id ranges; inline inside a transaction
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
