"""Whole-graph aggregates kept as snapshots, computed off the request path.

The vendors overview (home page, /vendors/, the matrix) reads every company's footprint, and
a country page's vendor tallies and section totals read every relationship of the country's
entities: seconds to minutes at a million entities, far past the 10 s a reader's request may
take. So they are computed by a Celery task (apps.catalog.tasks.aggregates_refresh_task) and
stored as snapshots; pages read the last snapshot and never wait for a whole-graph query.

Where: the Redis cache (the same Redis as the page caches and the Celery broker). A snapshot
is derived data, recomputable from the graph at any time, read whole by one request; Redis
keeps it without expiry, with append-only persistence (bin/run's Redis survives a restart)
and no eviction policy, and a lost one is simply recomputed. A database table would add a
migration and a write per refresh to the store of record for data the store does not own.

Keys, for each *scope* ("overview", "country:RS"):
- `agg:snap:<scope>`: {"value", "started" (epoch seconds the computation began), "computed_at",
  "seconds" (what it cost), "epoch" (the graph's epoch: a cleared or rebuilt graph has a new
  one, and a snapshot of another graph is never shown)};
- `agg:changed:<scope>`: when the outbox drain last applied a change touching the scope
  (scopes_changed). The snapshot is stale when that is later than its `started`: a change the
  graph committed before a computation began is in it, one after is not (one host's clock);
- `agg:scheduled:<scope>`: a refresh is queued (the debounce: at most one per
  AGGREGATES_DEBOUNCE_SECONDS per scope, run that long after the first change, so that a burst
  of changes costs one refresh);
- `agg:costs`: {scope: seconds its last computation took}. Refreshes share the worker (and
  Neo4j's CPU) with the outbox drain, and at a million entities one round of every scope costs
  minutes (the overview ~40 s, each country 2–8 s): refreshing each touched scope every 30 s
  during a long import would keep a worker busy with figures nobody is reading yet and hold the
  graph back. So a change's refresh waits the debounce or, when longer, what keeps refreshes at
  AGGREGATES_WORK_PERCENT of the time given the last round's cost (25 %: three times the round,
  so a round of 233 s waits about 12 minutes; a small graph's round of milliseconds waits only
  the debounce). Readers meanwhile see the figures' "as of" time.

Readers (snapshot_get): while Neo4j is down the last snapshot is still served (as stale); a
fresh snapshot is served as is; a stale one with its "as of" time
(the page says "figures as of 18:02; refreshing"), queueing a refresh; a missing one is
computed inline only on a small graph (at most AGGREGATES_INLINE_MAX_ENTITIES entities:
tests, development, a new site), else the page says the figures are being computed and a
refresh is queued. On a small graph a stale snapshot is recomputed inline too, so a small
site never shows figures older than its graph. Without Redis the figures are computed for
the request, bounded by NEO4J_QUERY_TIMEOUT, as before.
"""
from __future__ import annotations

import datetime as dt
import logging
import time
from dataclasses import dataclass
from typing import Any

from django.conf import settings
from django.core.cache import cache
from django.db.models import Q

from graph import queries
from graph.connection import GraphError, GraphUnavailable, read_timeout

log = logging.getLogger(__name__)

OVERVIEW = "overview"
_SNAP, _CHANGED, _SCHEDULED, _COSTS = "agg:snap:", "agg:changed:", "agg:scheduled:", "agg:costs"


def country_scope(iso: str) -> str:
    return f"country:{iso}"


@dataclass
class Snapshot:
    value: Any  # None while a first snapshot is being computed
    computed_at: dt.datetime | None = None
    refreshing: bool = False  # the graph changed since: the figures are as of computed_at
    pending: bool = False  # no snapshot yet at this size: a refresh is queued
    parts: dict | None = None  # computed for this request: its parts, in hand


def _compute(scope: str) -> tuple[Any, dict]:
    """The scope's figures (value, parts): one home for each query (graph.queries through the
    selectors). `parts` are kept beside the value, each read by the one page that needs it."""
    if scope == OVERVIEW:
        from apps.catalog.selectors.vendors import vendors_overview_compute, vendors_snapshot

        return vendors_snapshot(vendors_overview_compute())
    if scope.startswith("country:"):
        from apps.catalog.selectors.browse import country_aggregates

        return country_aggregates(scope.split(":", 1)[1]), {}
    raise ValueError(f"unknown aggregate scope {scope!r}")


def _epoch() -> str | None:
    generation = queries.graph_generation()
    return generation.split(":", 1)[0] if generation else None


def _store(scope: str, *, epoch: str | None) -> dict:
    started = time.time()
    value, parts = _compute(scope)
    snap = {"value": value, "started": started, "computed_at": dt.datetime.now(dt.timezone.utc),
            "seconds": time.time() - started, "epoch": epoch, "parts": parts}
    if epoch is not None:  # a graph without a generation has had no write: nothing to keep
        # The parts first: a reader that finds the new value finds its parts.
        items = [(f"{_SNAP}{scope}:{name}", part) for name, part in parts.items()]
        for start in range(0, len(items), 500):
            cache.set_many(dict(items[start:start + 500]), timeout=None)
        cache.set(_SNAP + scope, {k: v for k, v in snap.items() if k != "parts"}, timeout=None)
        # Two refreshes finishing at once may each miss the other's figure: the next one puts
        # it back; this only paces refreshes (refresh_delay).
        costs = cache.get(_COSTS) or {}
        costs[scope] = snap["seconds"]
        cache.set(_COSTS, costs, timeout=None)
    return snap


def refresh_delay() -> float:
    """How long a change's refresh waits (see the module's docstring, `agg:costs`): the debounce,
    or longer when a round of every scope would take more than AGGREGATES_WORK_PERCENT of the time."""
    share = min(max(settings.AGGREGATES_WORK_PERCENT, 1), 100) / 100
    round_cost = sum((cache.get(_COSTS) or {}).values())
    return max(float(settings.AGGREGATES_DEBOUNCE_SECONDS), round_cost * (1.0 / share - 1.0))


def _fresh(snap: dict) -> Snapshot:
    return Snapshot(value=snap["value"], computed_at=snap["computed_at"], parts=snap["parts"])


def snapshot_part(snapshot: Snapshot, scope: str, name: str):
    """One part of the scope's snapshot (see _compute); None when there is none."""
    if snapshot.parts is not None:
        return snapshot.parts.get(name)
    try:
        return cache.get(f"{_SNAP}{scope}:{name}")
    except Exception as exc:  # noqa: BLE001 - Redis went down between two reads
        log.warning("aggregates: part %s of %s unavailable: %s", name, scope, exc)
        return None


def _small_graph() -> bool:
    from apps.catalog.models import Entity

    newest = Entity.objects.order_by("-id").values_list("id", flat=True).first() or 0
    return newest <= settings.AGGREGATES_INLINE_MAX_ENTITIES


def snapshot_get(scope: str) -> Snapshot:
    """The scope's last snapshot as a reader sees it (see the module's docstring)."""
    try:
        found = cache.get_many([_SNAP + scope, _CHANGED + scope])
    except Exception as exc:  # noqa: BLE001 - Redis down: compute for this request, bounded
        log.warning("aggregates: snapshot store unavailable, computing %s: %s", scope, exc)
        value, parts = _compute(scope)
        return Snapshot(value=value, parts=parts)
    snap, changed = found.get(_SNAP + scope), found.get(_CHANGED + scope)
    try:
        epoch = _epoch()
    except GraphUnavailable:
        if snap is None:
            raise
        # Neo4j down: the last snapshot is still the best answer (it says how old it is).
        return Snapshot(value=snap["value"], computed_at=snap["computed_at"], refreshing=True)
    if snap is not None and (epoch is None or snap.get("epoch") != epoch):
        snap = None  # a snapshot of a graph since cleared or rebuilt
    if snap is None:
        if _small_graph():
            return _fresh(_store(scope, epoch=epoch))
        refresh_schedule([scope], countdown=0)
        return Snapshot(value=None, pending=True)
    if changed is not None and changed >= snap["started"]:
        if _small_graph():
            return _fresh(_store(scope, epoch=epoch))
        refresh_schedule([scope], countdown=0)  # in case the drain's refresh was lost
        return Snapshot(value=snap["value"], computed_at=snap["computed_at"], refreshing=True)
    return Snapshot(value=snap["value"], computed_at=snap["computed_at"])


def snapshot_refresh(*, scope: str, force: bool = False) -> float | None:
    """Compute and store the scope's snapshot (the refresh task); None when it was already
    fresh (a second queued refresh) and not `force`d. Reads may take AGGREGATES_QUERY_TIMEOUT
    seconds here. On a graph error nothing is stored (the old snapshot stays, still marked
    stale) and the error propagates for the task to retry. Returns the seconds it took."""
    cache.delete(_SCHEDULED + scope)  # a change from now on queues another refresh
    epoch = _epoch()
    if not force:
        found = cache.get_many([_SNAP + scope, _CHANGED + scope])
        snap, changed = found.get(_SNAP + scope), found.get(_CHANGED + scope)
        if snap is not None and snap.get("epoch") == epoch and (changed is None or changed < snap["started"]):
            return None
    with read_timeout(settings.AGGREGATES_QUERY_TIMEOUT):
        return _store(scope, epoch=epoch)["seconds"]


def refresh_schedule(scopes, *, countdown: float | None = None, force: bool = False) -> int:
    """Queue a refresh of each scope that has none queued yet; returns how many were queued.
    Debounced: the refresh runs `countdown` (by default refresh_delay()) from now, and
    changes meanwhile are in it. A broker failure is logged: the scope stays marked stale
    and the next change, reader or periodic refresh queues it again."""
    from apps.catalog.tasks import aggregates_refresh_task

    delay = refresh_delay() if countdown is None else countdown
    queued = 0
    for scope in scopes:
        # The key outlives the countdown a little: the task deletes it when it starts.
        if not cache.add(_SCHEDULED + scope, 1, timeout=int(delay) + settings.AGGREGATES_SCHEDULE_GRACE):
            continue
        try:
            aggregates_refresh_task.apply_async(args=[scope], kwargs={"force": force}, countdown=delay, retry=False)
            queued += 1
        except Exception as exc:  # noqa: BLE001 - kombu raises several connection errors
            cache.delete(_SCHEDULED + scope)
            log.warning("aggregates: could not queue the refresh of %s: %s", scope, exc)
    return queued


def scopes_touched(changes: list[dict]) -> set[str]:
    """The scopes whose figures a batch of applied changes (outbox rows) can move: the
    overview always; for a record, the countries of its two ends; for an entity, its own
    country and those of every entity it shares a record with, as an end, site or party (a
    vendor's name and visibility show in each country where it is present)."""
    from apps.catalog.models import Entity, Record

    countries: set[str] = set()
    ends: set[str] = set()
    entity_uids: list[str] = []
    for change in changes:
        payload = change.get("payload") or {}
        if change["aggregate"] == "record":
            ends.update(u for u in (payload.get("s"), payload.get("o")) if u)
        else:
            entity_uids.append(change["uid"])
            countries.add((payload.get("props") or {}).get("country") or "")
    if ends:
        countries.update(Entity.objects.filter(uuid__in=ends).values_list("country", flat=True).distinct())
    if entity_uids:
        ids = Entity.objects.filter(uuid__in=entity_uids).values("pk")
        for end, other in (("subject", ("object__country",)), ("object", ("subject__country",)),
                           ("site", ("subject__country", "object__country")),
                           ("party", ("subject__country", "object__country"))):
            for field in other:
                countries.update(Record.objects.filter(Q(**{f"{end}__in": ids})).order_by()
                                 .values_list(field, flat=True).distinct())
    return {OVERVIEW} | {country_scope(c) for c in countries if c}


def scopes_changed(scopes: set[str]) -> None:
    """After the graph committed changes touching `scopes`: mark them stale and queue one
    debounced refresh each (called by the outbox drain)."""
    if not scopes:
        return
    now = time.time()
    cache.set_many({_CHANGED + scope: now for scope in scopes}, timeout=None)
    refresh_schedule(sorted(scopes))


def scopes_all() -> list[str]:
    """Every scope: the overview and each country that has an entity (the periodic refresh,
    a backstop for changes made outside the drain, e.g. graph_rebuild, or marks lost with Redis)."""
    from apps.catalog.models import Entity

    codes = Entity.objects.exclude(country="").order_by().values_list("country", flat=True).distinct()
    return [OVERVIEW, *sorted(country_scope(c) for c in codes)]


__all__ = ["GraphError", "OVERVIEW", "Snapshot", "country_scope", "refresh_delay", "refresh_schedule", "scopes_all",
           "scopes_changed", "scopes_touched", "snapshot_get", "snapshot_refresh"]
