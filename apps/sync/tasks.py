"""Celery tasks: each only calls a service."""
from celery import shared_task

from apps.sync import services


@shared_task(name="apps.sync.tasks.outbox_drain", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_drain_task():
    # No retry here: if Neo4j is down the rows stay pending and the sweeper re-sends them.
    try:
        result = services.outbox_drain()
    except services.GraphUnavailable:
        return {"error": "graph unavailable"}
    return {"applied": result.applied, "stale": result.stale, "waiting": result.waiting}


@shared_task(name="apps.sync.tasks.outbox_sweep", acks_late=True, reject_on_worker_lost=True, ignore_result=True)
def outbox_sweep_task():
    result = services.outbox_sweep()
    return {"applied": result.applied, "stale": result.stale, "waiting": result.waiting}
