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

from apps.sync.bulk import history_insert, objects_insert, rows_insert
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
    the outbox upsert carrying the object's graph payload, all in the caller's transaction.

    The caller has validated the objects (the model's rules, see catalog.services). `then(objs)`
    runs after the insert and before the payloads are read: it writes the rows a payload shows
    (a record's citations, an entity's names) and may prefetch them onto the objects
    (`_prefetched_objects_cache`), so computing the payloads costs no query per object."""
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
    for obj in objs:  # what `then` prefetched is a snapshot of this write: a later save reads afresh
        obj.__dict__.pop("_prefetched_objects_cache", None)
    return objs


def outbox_emit_bulk(objs: list) -> int:
    """The outbox upserts of many saved synced objects (their current version and payload), in
    one statement. Must run inside the transaction of the change, like outbox_emit."""
    if not objs:
        return []
    if not connection.in_atomic_block:
        raise RuntimeError("outbox_emit_bulk must run inside the transaction that makes the change")
    now = timezone.now()
    rows = [(obj.graph_aggregate, str(obj.uuid), "upsert", obj.version, obj.graph_payload(), now, 0, "", 0)
            for obj in objs]
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
    """SQLite: take a batch under a lease; a worker that dies loses it when the lease ends."""
    now = timezone.now()
    lease = now + dt.timedelta(seconds=settings.OUTBOX_LEASE_SECONDS)
    with transaction.atomic():
        events = list(_pending(now).order_by("id")[:batch_size])
        if events:
            OutboxEvent.objects.filter(id__in=[e.id for e in events]).update(claimed_until=lease)
    return events


def _drain_locked_batch(batch_size: int, result: DrainResult) -> bool:
    """PostgreSQL: hold the batch's rows locked (`FOR UPDATE SKIP LOCKED`) while delivering
    them, in one transaction. Other workers skip them and take the next rows, so several
    drain together; a worker that dies drops its connection and the rows are free at once.
    No lease to outlive, so no row is ever delivered by two workers. False when none is left."""
    error = None
    with transaction.atomic():
        events = list(_pending(timezone.now()).select_for_update(skip_locked=True).order_by("id")[:batch_size])
        if not events:
            return False
        result.batches += 1
        try:
            _deliver(events, result)
        except GraphError as exc:
            error = exc  # the error is recorded on the rows; commit that, then report it
    if error is not None:
        raise error
    return True


def _deliver(events: list[OutboxEvent], result: DrainResult) -> None:
    newest: dict[str, OutboxEvent] = {}
    for event in events:
        if event.uid not in newest or event.version > newest[event.uid].version:
            newest[event.uid] = event
    if settings.OUTBOX_DRILL_DELAY:
        time.sleep(settings.OUTBOX_DRILL_DELAY)  # failure drills only: widen the window mid-batch
    changes = [
        {"aggregate": e.aggregate, "op": e.op, "uid": e.uid, "version": e.version, "payload": e.payload}
        for e in newest.values()
    ]
    before: dict[str, int] = {}
    try:
        outcomes = graph_sync.apply_changes(changes, before=before)
    except GraphError as exc:
        OutboxEvent.objects.filter(id__in=[e.id for e in events]).update(
            claimed_until=None, last_error=str(exc)[:2000]
        )
        raise
    done = [e.id for e in events if outcomes.get(e.uid) in ("applied", "stale")]
    done_ids = set(done)
    waiting = [e for e in events if e.id not in done_ids]
    now = timezone.now()
    OutboxEvent.objects.filter(id__in=done).update(
        delivered_at=now, claimed_until=None, last_error="", deliveries=F("deliveries") + 1
    )
    applied = [e for e in newest.values() if outcomes.get(e.uid) == "applied"]
    if applied:
        # One statement for the batch: CASE WHEN id IN (...) THEN <version before>, one branch
        # per distinct version (an import's new objects all had 0: one branch, not thousands).
        by_before: dict[int, list[int]] = {}
        for e in applied:
            by_before.setdefault(before[e.uid], []).append(e.id)
        OutboxEvent.objects.filter(id__in=[e.id for e in applied]).update(graph_version_before=Case(
            *[When(id__in=ids, then=Value(version)) for version, ids in by_before.items()],
            output_field=PositiveIntegerField()
        ))
    # An endpoint entity is not in the graph yet: back off and try again. One statement per
    # distinct attempt count (rows of one batch mostly share it), not one save per row.
    by_attempts: dict[int, list[int]] = {}
    for event in waiting:
        event.attempts += 1
        by_attempts.setdefault(event.attempts, []).append(event.id)
    for attempts, ids in by_attempts.items():
        OutboxEvent.objects.filter(id__in=ids).update(
            attempts=attempts, claimed_until=now + dt.timedelta(seconds=min(300, 2 ** min(attempts, 8))),
            last_error="an entity this record points at is not in the graph yet")
    _aggregates_changed([c for c in changes if outcomes.get(c["uid"]) == "applied"])
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
    while time.monotonic() < deadline:
        if connection.features.has_select_for_update_skip_locked:
            if not _drain_locked_batch(size, result):
                break
            continue
        events = _claim(size)
        if not events:
            break
        result.batches += 1
        _deliver(events, result)
    return result


def outbox_sweep() -> DrainResult:
    """Re-send whatever was not delivered (lost nudges, dead workers, outages); prune old rows."""
    OutboxEvent.objects.filter(delivered_at__lt=timezone.now() - KEEP_DELIVERED).delete()
    try:
        return outbox_drain()
    except GraphUnavailable as exc:
        log.warning("outbox sweep: Neo4j unavailable, will retry: %s", exc)
        return DrainResult(errors=[str(exc)])
