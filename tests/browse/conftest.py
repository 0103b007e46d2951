"""Fixtures for the browsing pages: the Nuctech case study projected into the real Neo4j,
and small published graphs built through the real save() path (and so the outbox)."""
from __future__ import annotations

import pytest

from apps.catalog.models import Entity, Record
from tests.factories import cite, make_source


@pytest.fixture
def casestudy(graph):
    """The case study loaded, published and projected; returns entities by key."""
    from apps.ingest.casestudy import load_casestudy
    from apps.sync.services import outbox_drain

    load_casestudy()
    outbox_drain()
    return {e.key: e for e in Entity.objects.all()}


@pytest.fixture
def publish():
    """Build published entities and records quickly: `publish.entity(name, kind=...)`,
    `publish.record(subject, object, kind=..., **fields)`; `publish.drain()` projects them."""
    from apps.sync.services import outbox_drain

    source = make_source()

    class Builder:
        def entity(self, name, kind="company", **kwargs):
            entity = Entity(name=name, kind=kind, workflow="published", **kwargs)
            entity.save()
            return entity

        def record(self, subject, object, kind="contract", **kwargs):
            record = Record(kind=kind, subject=subject, object=object, **kwargs)
            record.save()
            cite(record, "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.", source=source)
            record.workflow = "published"
            record.save()
            return record

        def drain(self):
            outbox_drain()

    return Builder()
