"""What was published lately: the home page's lists and the Atom feeds."""
from __future__ import annotations

from django.db.models.functions import Coalesce

from apps.catalog.models import Entity
from apps.catalog.selectors.browse import with_sources
from apps.catalog.selectors.visibility import public_records, public_sources, records_naming


def latest_records(*, entity: Entity | None = None, limit: int = 8, cited: bool = False) -> list:
    """The most recently published public records, newest first; with `entity`, only those
    naming it (at any end); with `cited`, each with its sources (for the feeds)."""
    qs = public_records()
    if entity is not None:
        qs = qs.filter(pk__in=records_naming(entity).values("pk"))
    # Records published outside the review workflow (bulk loads) may lack the moment.
    qs = qs.annotate(published_on=Coalesce("published_at", "updated_at")).order_by("-published_on", "-id")
    qs = with_sources(qs) if cited else qs.select_related("subject", "object")
    return list(qs[:limit])


def latest_sources(*, limit: int = 10) -> list:
    """The public sources (datasets and articles), newest publication first."""
    return list(public_sources().defer("text", "metadata_quotes").order_by("-published", "title")[:limit])
