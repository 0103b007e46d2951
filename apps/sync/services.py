"""Writing to and draining the outbox. The only place that moves changes into the graph."""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass, field

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Case, F, PositiveIntegerField, Q, Value, When
from django.utils import timezone

from apps.sync.bulk import history_insert, id_slices, objects_insert, rows_insert
from apps.sync.models import OutboxEvent
from graph import sync as graph_sync
from graph.connection import GraphError, GraphUnavailable

log = logging.getLogger(__name__)

# Delivered rows are kept this long for inspection, then pruned by the sweeper.
KEEP_DELIVERED = dt.timedelta(days=7)


def outbox_emit(*, aggregate: str, uid: str, op: str, version: int, payload: dict) -> OutboxEvent:
    """Record a change for the graph. Must run inside the transaction of the change."""
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_emit must run inside the transaction that makes the change")
    event = OutboxEvent.objects.create(aggregate=aggregate, uid=uid, op=op, version=version, payload=payload)
    _nudge_on_commit()
    return event


def synced_bulk_create(objs: list, *, user=None, reason: str = "", then=None) -> list:
    """Insert many new synced objects of one model (entities, or records) in a few statements,
    with what `save()` writes for each: version 1, a history row ("+", `user`, `reason`) and
    the outbox upsert, all in the caller's transaction.

    The caller has validated the objects (the model's rules, see catalog.services). `then(objs)`
    runs after the insert: it writes the rows that come with them (a record's citations, an
    entity's names). The outbox rows leave their payloads to be read at delivery (see
    outbox_emit_bulk), so nothing here reads the objects back."""
    if not objs:
        return objs
    if not connection.in_atomic_block:
        raise RuntimeError("synced_bulk_create must run inside the transaction that makes the change")
    model = type(objs[0])
    for obj in objs:
        if obj.pk is not None or type(obj) is not model:
            raise ValueError("synced_bulk_create takes new objects of one model")
        obj.version = 1
    # Not SyncedQuerySet.bulk_create: it refuses on purpose (it would bypass the outbox);
    # this function is the one bulk write that does not.
    objects_insert(objs)
    history_insert(objs, user=user, reason=reason)
    if then is not None:
        then(objs)
    outbox_emit_bulk(objs)
    return objs


def outbox_emit_bulk(objs: list) -> int:
    """The outbox upserts of many saved synced objects (their current version), in one
    statement. Must run inside the transaction of the change, like outbox_emit.

    Their payloads are read from the store at delivery (OutboxEvent.READ_AT_DELIVERY): the
    drain projects them as the rebuild does, a batch in a few queries (apps.sync.parity.
    store_upserts). An import writes a million of these rows; computing each payload here
    and storing it cost the importing process about a tenth of its time, and the database
    a few hundred bytes a row, for a projection the drain can make itself in another process.
    A row whose object has moved on to a newer version (or is gone) by then is superseded by
    the newer row, which every change writes (see _apply)."""
    if not objs:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_emit_bulk must run inside the transaction that makes the change")
    now = timezone.now()
    later = OutboxEvent.READ_AT_DELIVERY
    rows = [(obj.graph_aggregate, str(obj.uuid), "upsert", obj.version, later, now, 0, "", 0) for obj in objs]
    rows_insert(OutboxEvent, ["aggregate", "uid", "op", "version", "payload", "created_at", "attempts", "last_error",
                              "deliveries"], rows)
    _nudge_on_commit()
    return len(rows)


def _nudge_on_commit() -> None:
    # One nudge per transaction is enough: the drain task loops until the outbox is empty.
    if any(getattr(item[1], "_outbox_nudge", False) for item in connection.run_on_commit):
        return
    transaction.on_commit(_nudge, robust=True)


# The nudge's own broker connection: one attempt, short timeouts. Through the app's shared
# producer pool a refused connection was retried once after kombu's 2 s back-off
# (`max_retries` of CELERY_BROKER_TRANSPORT_OPTIONS), so with Redis down every committed write
# waited ~2 s. Scoped to this publish: the worker's own reconnection keeps its settings.
_NUDGE_TRANSPORT_OPTIONS = {"max_retries": 0, "socket_connect_timeout": 0.5, "socket_timeout": 1}


def _nudge() -> None:
    """Ask a worker to drain now. Failure (Redis down) is fine: the sweeper will deliver.
    Also tells the pages' store cache that the store changed (see store_cache.store_version)."""
    from apps.catalog.selectors.store_cache import store_changed
    from apps.sync.tasks import outbox_drain_task

    store_changed()

    try:
        with outbox_drain_task.app.connection_for_write(
                connect_timeout=0.5, transport_options=_NUDGE_TRANSPORT_OPTIONS) as conn:
            outbox_drain_task.apply_async(retry=False, connection=conn)
    except Exception as exc:  # noqa: BLE001 - any broker failure only delays the graph
        log.warning("could not queue outbox drain (the sweeper will deliver): %s", exc)


_nudge._outbox_nudge = True


@dataclass
class DrainResult:
    batches: int = 0
    applied: int = 0
    stale: int = 0
    waiting: int = 0
    errors: list[str] = field(default_factory=list)


def _pending(now):
    # claimed_until: a lease (SQLite) or a back-off before the next try (both databases).
    return OutboxEvent.objects.filter(delivered_at__isnull=True).filter(
        Q(claimed_until__isnull=True) | Q(claimed_until__lt=now)
    )


def _claim(batch_size: int) -> list[OutboxEvent]:
    """SQLite: take a batch under a lease; a worker that dies loses it when the lease ends.
    Runs inside the caller's write transaction (see outbox_drain)."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    events = list(_pending(now).order_by("id")[:batch_size])
    for ids in id_slices([e.id for e in events]):
        OutboxEvent.objects.filter(id__in=ids).update(claimed_until=lease)
    return events


def _drain_locked_batch(batch_size: int, result: DrainResult) -> bool:
    """PostgreSQL: hold the batch's rows locked (`FOR UPDATE SKIP LOCKED`) while delivering
    them, in one transaction. Other workers skip them and take the next rows, so several
    drain together; a worker that dies drops its connection and the rows are free at once.
    No lease to outlive, so no row is ever delivered by two workers. False when none is left."""
    error = None
    with transaction.atomic():
        with connection.cursor() as cursor:
            # The planner's estimate of the pending rows is taken from statistics that a big
            # import outdates within minutes (autovacuum's ANALYZE lags): believing a few
            # hundred rows pending when 300,000 are, it read and sorted all of them for every
            # batch of 500 (0.4-0.6 s a claim, ~700 rows/s after a million-object import).
            # The claim only ever wants the first rows in id order: walk the partial index.
            cursor.execute("SET LOCAL enable_sort = off; SET LOCAL enable_bitmapscan = off")
        events = list(_pending(timezone.now()).select_for_update(skip_locked=True).order_by("id")[:batch_size])
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL enable_sort TO DEFAULT; SET LOCAL enable_bitmapscan TO DEFAULT")
        if not events:
            return False
        result.batches += 1
        try:
            _record(_apply(events), result)
        except GraphError as exc:
            error = exc  # the error is recorded on the rows; commit that, then report it
    if error is not None:
        raise error
    return True


@dataclass
class _Outcome:
    """What Neo4j made of a batch, to be written to its outbox rows by _record."""
    events: list[OutboxEvent]
    newest: dict[str, OutboxEvent]
    changes: list[dict]
    outcomes: dict[str, str]
    before: dict[str, int]
    unread: set[str] = field(default_factory=set)


def _apply(events: list[OutboxEvent]) -> _Outcome:
    """Write a batch to Neo4j (the newest row of each uid). No write to the store of record,
    except on a graph error: the rows are then released with the error (and it is raised)."""
    newest: dict[str, OutboxEvent] = {}
    for event in events:
        if event.uid not in newest or event.version > newest[event.uid].version:
            newest[event.uid] = event
    payloads, superseded, unread = _read_at_delivery(list(newest.values()))
    if settings.OUTBOX_DRILL_DELAY:
        time.sleep(settings.OUTBOX_DRILL_DELAY)  # failure drills only: widen the window mid-batch
    changes = [
        {"aggregate": e.aggregate, "op": e.op, "uid": e.uid, "version": e.version,
         "payload": payloads.get(e.uid, e.payload)}
        for e in newest.values() if e.uid not in superseded and e.uid not in unread
    ]
    before: dict[str, int] = {}
    try:
        outcomes = graph_sync.apply_changes(changes, before=before) if changes else {}
    except GraphError as exc:
        for ids in id_slices([e.id for e in events]):
            OutboxEvent.objects.filter(id__in=ids).update(claimed_until=None, last_error=str(exc)[:2000])
        raise
    outcomes.update(dict.fromkeys(superseded, "stale"))
    return _Outcome(events=events, newest=newest, changes=changes, outcomes=outcomes, before=before, unread=unread)


def _read_at_delivery(events: list[OutboxEvent]) -> tuple[dict[str, dict], set[str], set[str]]:
    """The payloads of the upserts among `events` that a bulk write left to be read now
    (OutboxEvent.READ_AT_DELIVERY), read from the store: (payload by uid, superseded uids,
    unread uids). An object whose store version is this row's gets the payload it has now,
    which is that version's. One that has moved on to a newer version, or is gone, is
    superseded: the change that moved it wrote a newer row (an upsert with its payload, or a
    deletion), which delivers it; this row is then stale, as if the graph had it already.
    A store version older than the row's cannot be (the row was written with its change);
    such a row is not sent and waits (unread), with an error that says so."""
    lazy = [e for e in events if e.op == OutboxEvent.Op.UPSERT and e.payload == OutboxEvent.READ_AT_DELIVERY]
    if not lazy:
        return {}, set(), set()
    from apps.sync.parity import store_upserts

    payloads, superseded, unread = {}, set(), set()
    for aggregate in {e.aggregate for e in lazy}:
        now = store_upserts(aggregate, [e.uid for e in lazy if e.aggregate == aggregate])
        for event in (e for e in lazy if e.aggregate == aggregate):
            change = now.get(event.uid)
            if change is None or change["version"] > event.version:
                superseded.add(event.uid)
            elif change["version"] == event.version:
                payloads[event.uid] = change["payload"]
            else:
                unread.add(event.uid)
    if unread:
        log.error("outbox: %d rows name versions newer than the store's (e.g. %s); they wait", len(unread),
                  next(iter(unread)))
    return payloads, superseded, unread


def _record(outcome: _Outcome, result: DrainResult) -> None:
    """Write a delivered batch's outcome to its outbox rows: delivered (applied or stale), the
    version the graph held before, or a back-off for the rows whose endpoints are missing."""
    events, newest, outcomes, before = outcome.events, outcome.newest, outcome.outcomes, outcome.before
    done = [e.id for e in events if outcomes.get(e.uid) in ("applied", "stale")]
    done_ids = set(done)
    waiting = [e for e in events if e.id not in done_ids]
    now = timezone.now()
    for ids in id_slices(done):
        OutboxEvent.objects.filter(id__in=ids).update(
            delivered_at=now, claimed_until=None, last_error="", deliveries=F("deliveries") + 1
        )
    applied = [e for e in newest.values() if outcomes.get(e.uid) == "applied"]
    # One statement per slice: CASE WHEN id IN (...) THEN <version before>, one branch per
    # distinct version (an import's new objects all had 0: one branch, not thousands).
    for some in id_slices(applied):
        by_before: dict[int, list[int]] = {}
        for e in some:
            by_before.setdefault(before[e.uid], []).append(e.id)
        OutboxEvent.objects.filter(id__in=[e.id for e in some]).update(graph_version_before=Case(
            *[When(id__in=ids, then=Value(version)) for version, ids in by_before.items()],
            output_field=PositiveIntegerField()
        ))
    # An endpoint entity is not in the graph yet: back off and try again. One statement per
    # distinct attempt count (rows of one batch mostly share it), not one save per row.
    by_attempts: dict[int, list[int]] = {}
    for event in waiting:
        event.attempts += 1
        by_attempts.setdefault(event.attempts, []).append(event.id)
    for attempts, all_ids in by_attempts.items():
        for ids in id_slices(all_ids):
            OutboxEvent.objects.filter(id__in=ids).update(
                attempts=attempts, claimed_until=now + dt.timedelta(seconds=min(300, 2 ** min(attempts, 8))),
                last_error="an entity this record points at is not in the graph yet")
    unread = [e.id for e in waiting if e.uid in outcome.unread]
    for ids in id_slices(unread):
        OutboxEvent.objects.filter(id__in=ids).update(
            last_error="the store holds an older version of this object than this row names: not sent")
    _aggregates_changed([c for c in outcome.changes if outcomes.get(c["uid"]) == "applied"])
    result.applied += sum(1 for o in outcomes.values() if o == "applied")
    result.stale += sum(1 for o in outcomes.values() if o == "stale")
    result.waiting += len(waiting)


def _aggregates_changed(applied: list[dict]) -> None:
    """Tell the whole-graph aggregates (the vendors overview, the country pages) which of
    them the graph's committed changes touch: they are marked stale and refreshed by a task.
    A failure (Redis down) only delays them until the periodic refresh; the drain goes on."""
    if not applied:
        return
    from apps.catalog.selectors import aggregates

    try:
        aggregates.scopes_changed(aggregates.scopes_touched(applied))
    except Exception as exc:  # noqa: BLE001 - redis-py and kombu raise several errors
        log.warning("aggregates not told of %d changes: %s", len(applied), exc)


def outbox_drain(*, batch_size: int | None = None, time_budget: float = 60.0) -> DrainResult:
    """Deliver pending outbox rows to Neo4j in batches until none is left (or the budget ends).

    Raises GraphUnavailable when Neo4j is down; the rows stay pending for the sweeper.
    """
    size = batch_size or settings.OUTBOX_BATCH_SIZE
    result = DrainResult()
    deadline = time.monotonic() + time_budget
    if connection.features.has_select_for_update_skip_locked:
        while time.monotonic() < deadline and _drain_locked_batch(size, result):
            pass
        return result
    # SQLite has one write lock for the whole file, and an import holds it for each chunk it
    # writes: every write of the drain waits for a chunk to end. So one write transaction
    # per slab of OUTBOX_SQLITE_CLAIM_SIZE rows: the last slab's outcome and the claim of the
    # next one together. The slab goes to Neo4j in batches of `size` without the lock, as
    # long as half of its lease is left (so no other worker takes rows of it meanwhile).
    claim_size = max(size, settings.OUTBOX_SQLITE_CLAIM_SIZE)
    outcomes: list[_Outcome] = []
    unsent: list[OutboxEvent] = []
    while True:
        with transaction.atomic():
            _slab_close(outcomes, unsent, result)
            events = _claim(claim_size) if time.monotonic() < deadline else []
        outcomes, unsent = [], []
        if not events:
            return result
        stop = min(deadline, time.monotonic() + settings.OUTBOX_LEASE_SECONDS / 2)
        try:
            for i in range(0, len(events), size):
                if i and time.monotonic() >= stop:
                    unsent = events[i:]
                    break
                result.batches += 1
                outcomes.append(_apply(events[i:i + size]))
        except Exception:
            # What Neo4j took is recorded; the rest of the slab is released at once (the
            # failed batch already is, with its error). A crash instead leaves the slab to
            # its lease: delivered again, the rows are found stale (at least once).
            tried = sum(len(o.events) for o in outcomes) + size
            with transaction.atomic():
                _slab_close(outcomes, events[tried:], result)
            raise


def _slab_close(outcomes: list[_Outcome], unsent: list[OutboxEvent], result: DrainResult) -> None:
    """SQLite, inside the write transaction: record the slab's delivered batches and free
    the rows of it that were not sent."""
    for outcome in outcomes:
        _record(outcome, result)
    for ids in id_slices([e.id for e in unsent]):
        OutboxEvent.objects.filter(id__in=ids).update(claimed_until=None)


def outbox_sweep() -> DrainResult:
    """Re-send whatever was not delivered (lost nudges, dead workers, outages); prune old rows."""
    OutboxEvent.objects.filter(delivered_at__lt=timezone.now() - KEEP_DELIVERED).delete()
    try:
        return outbox_drain()
    except GraphUnavailable as exc:
        log.warning("outbox sweep: Neo4j unavailable, will retry: %s", exc)
        return DrainResult(errors=[str(exc)])
