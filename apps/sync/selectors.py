from __future__ import annotations

from dataclasses import dataclass

from django.utils import timezone

from apps.sync.models import OutboxEvent


@dataclass
class SyncLag:
    pending: int
    oldest_pending_seconds: float
    last_delivered_at: object


def sync_lag() -> SyncLag:
    """How far the graph is behind the store of record."""
    pending = OutboxEvent.objects.filter(delivered_at__isnull=True)
    oldest = pending.order_by("id").values_list("created_at", flat=True).first()
    last = (
        OutboxEvent.objects.filter(delivered_at__isnull=False).order_by("-delivered_at")
        .values_list("delivered_at", flat=True).first()
    )
    return SyncLag(
        pending=pending.count(),
        oldest_pending_seconds=(timezone.now() - oldest).total_seconds() if oldest else 0.0,
        last_delivered_at=last,
    )


def graph_counts_or_error() -> tuple[dict[str, int], dict[str, int], str]:
    """(entities by kind, records by kind, "") as Neo4j sees them, or ({}, {}, why) when it
    cannot be reached."""
    from graph.connection import GraphUnavailable
    from graph.sync import graph_counts

    try:
        entities, records = graph_counts()
    except GraphUnavailable as exc:
        return {}, {}, str(exc)
    return entities, records, ""


def health() -> dict:
    """What a load balancer needs to know: Neo4j and Redis reachable, and the outbox lag.
    `ok` is false when either store cannot be reached (the lag alone degrades nothing: the
    sweeper catches up)."""
    import redis
    from django.conf import settings

    from graph.connection import ping

    neo4j_ok = ping()
    try:
        redis_ok = bool(redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1).ping())
    except redis.RedisError:
        redis_ok = False
    lag = sync_lag()
    return {"ok": neo4j_ok and redis_ok, "neo4j": {"ok": neo4j_ok}, "redis": {"ok": redis_ok},
            "outbox": {"pending": lag.pending, "lag_seconds": round(lag.oldest_pending_seconds, 3),
                       "last_delivered_at": lag.last_delivered_at.isoformat() if lag.last_delivered_at else None}}
