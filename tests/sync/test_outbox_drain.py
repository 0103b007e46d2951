"""Draining the outbox: a record that reaches the graph before its entities waits, then lands."""
import datetime as dt

import pytest
from django.utils import timezone

from apps.sync.models import OutboxEvent
from apps.sync.services import outbox_drain
from graph.connection import run
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_record_drained_before_its_entities_backs_off_and_is_delivered_after_them(graph):
    a, b = make_entity("Waiting Owner Ltd"), make_entity("Waiting Subsidiary Ltd")
    record = make_record(a, b, kind="ownership")
    entity_rows = OutboxEvent.objects.filter(aggregate="entity")
    entity_rows.update(claimed_until=timezone.now() + dt.timedelta(hours=1))  # held elsewhere

    result = outbox_drain()

    assert result.waiting == 1
    row = OutboxEvent.objects.get(uid=str(record.uuid))
    assert row.delivered_at is None and row.attempts == 1
    assert row.claimed_until > timezone.now()  # backing off, not retried at once
    assert "not in the graph yet" in row.last_error

    entity_rows.update(claimed_until=None)
    assert outbox_drain().applied == 2
    OutboxEvent.objects.filter(pk=row.pk).update(claimed_until=timezone.now() - dt.timedelta(seconds=1))
    assert outbox_drain().applied == 1
    row.refresh_from_db()
    assert row.delivered_at is not None and row.graph_version_before == 0
    found = run("MATCH (:Entity {uid: $a})-[r:OWNS]->(:Entity {uid: $b}) RETURN r.uid AS uid",
                {"a": str(a.uuid), "b": str(b.uuid)})
    assert found == [{"uid": str(record.uuid)}]
