from __future__ import annotations

from django.db.models import Count

from apps.catalog.models import Entity, Record


def store_counts() -> tuple[dict[str, int], dict[str, int]]:
    """(entities by kind, records by kind) in the store of record."""
    entities = dict(Entity.objects.values_list("kind").annotate(n=Count("id")).order_by())
    records = dict(Record.objects.values_list("kind").annotate(n=Count("id")).order_by())
    return entities, records
