"""Celery tasks of the catalogue: each only calls a selector or service."""
from celery import shared_task
from django.conf import settings

from apps.catalog.selectors import aggregates


@shared_task(name="apps.catalog.tasks.aggregates_refresh", bind=True, acks_late=True, reject_on_worker_lost=True,
             ignore_result=True, max_retries=None)
def aggregates_refresh_task(self, scope: str, force: bool = False):
    """Recompute one scope's aggregates (the vendors overview, a country). A graph failure
    keeps the old snapshot (still shown as stale) and the refresh is tried again."""
    try:
        seconds = aggregates.snapshot_refresh(scope=scope, force=force)
    except aggregates.GraphError as exc:
        raise self.retry(exc=exc, countdown=settings.AGGREGATES_RETRY_SECONDS) from exc
    return {"scope": scope, "seconds": seconds}


@shared_task(name="apps.catalog.tasks.aggregates_refresh_all", ignore_result=True)
def aggregates_refresh_all_task():
    """The periodic backstop: every scope again (changes made outside the outbox drain)."""
    return {"queued": aggregates.refresh_schedule(aggregates.scopes_all(), countdown=0, force=True)}
