"""What was published lately: the home page's lists and the Atom feeds."""
from __future__ import annotations

from django.db.models import Exists, OuterRef
from django.db.models.functions import Coalesce

from apps.catalog.models import Entity, Record, Source
from apps.catalog.selectors.browse import with_sources
from apps.catalog.selectors.visibility import public_records, public_sources, records_naming


def latest_records(*, entity: Entity | None = None, limit: int = 8, cited: bool = False) -> list:
    """The most recently published public records, newest first; with `entity`, only those
    naming it (at any end); with `cited`, each with its sources (for the feeds)."""
    if entity is not None:
        qs = public_records().filter(pk__in=records_naming(entity).values("pk"))
    else:
        # Walk the records newest first (index record_published_on) and test each one's
        # visibility as it comes, stopping after `limit`. Joined to the entities for the rule
        # instead, SQLite's planner starts from every entity and sorts the whole catalogue
        # (two minutes for the home page at 5,000,000 records).
        qs = Record.objects.filter(Exists(public_records().filter(pk=OuterRef("pk"))))
    # Records published outside the review workflow (bulk loads) may lack the moment.
    qs = qs.annotate(published_on=Coalesce("published_at", "updated_at")).order_by("-published_on", "-id")
    qs = with_sources(qs) if cited else qs.select_related("subject", "object")
    return list(qs[:limit])


def latest_sources(*, limit: int = 10) -> list:
    """The public sources (datasets and articles), newest publication first."""
    qs = public_sources().defer("text", "metadata_quotes").order_by("-published", "title")
    # The newest sources first, then the public ones among them: testing each source's
    # citations for a public one, for every source before sorting, took a second at 16,000
    # sources. Usually the newest are public; if too few of them are, the whole query answers.
    newest = list(Source.objects.order_by("-published", "title").values_list("pk", flat=True)[:limit * 20])
    found = list(qs.filter(pk__in=newest)[:limit])
    return found if len(found) == limit or len(newest) < limit * 20 else list(qs[:limit])
