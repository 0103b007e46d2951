"""The outbox rows of bulk writes carry no payload: the drain reads it from the store when it
delivers them, and a row whose object has moved on since is superseded by the newer row."""
import pytest

from apps.catalog import services as catalog
from apps.catalog.models import Entity
from apps.sync.models import OutboxEvent
from apps.sync.parity import parity_check
from apps.sync.services import outbox_drain
from graph.connection import run
from tests.personas import alice  # noqa: F401 - a fixture

pytestmark = pytest.mark.django_db(transaction=True)


def _bulk_entities(user, *names):
    items = [catalog.NewEntity(fields={"kind": "company", "name": name, "country": "CN"}) for name in names]
    assert catalog.entities_bulk_create(user=user, items=items) == []
    return [item.entity for item in items]


def _graph_names():
    return sorted(row["name"] for row in run("MATCH (n:Entity) RETURN n.name AS name"))


def test_bulk_rows_are_read_from_the_store_at_delivery_and_reach_the_graph(graph, alice):
    owner, owned = _bulk_entities(alice, "Tsinghua Holdings Co., Ltd.", "Nuctech Company Limited")
    item = catalog.NewRecord(fields={"kind": "ownership", "subject_id": owner.pk, "object_id": owned.pk,
                                     "share_pct": 42})
    assert catalog.records_bulk_create(user=alice, items=[item]) == []
    rows = list(OutboxEvent.objects.order_by("id"))
    assert [(e.aggregate, e.version, e.payload) for e in rows] == [
        ("entity", 1, {}), ("entity", 1, {}), ("record", 1, {})]

    result = outbox_drain()

    assert (result.applied, result.stale, result.waiting) == (3, 0, 0)
    assert _graph_names() == ["Nuctech Company Limited", "Tsinghua Holdings Co., Ltd."]
    found = run("MATCH (a:Entity)-[r {uid: $uid}]->(b:Entity) RETURN a.uid AS a, b.uid AS b, r.share_pct AS share",
                {"uid": str(item.record.uuid)})
    assert [(r["a"], r["b"], r["share"]) for r in found] == [(str(owner.uuid), str(owned.uuid), 42.0)]
    assert set(OutboxEvent.objects.values_list("graph_version_before", "deliveries")) == {(0, 1)}
    assert parity_check().ok


def test_a_row_whose_object_changed_since_is_superseded_by_the_newer_row(graph, alice):
    (entity,) = _bulk_entities(alice, "Nuctech Warsaw Company Sp. z o.o.")
    catalog.entity_update(user=alice, entity=Entity.objects.get(pk=entity.pk), name="Nuctech Warsaw Sp. z o.o.")
    lazy, newer = OutboxEvent.objects.order_by("id")
    assert (lazy.payload, newer.version, newer.payload["props"]["name"]) == ({}, 2, "Nuctech Warsaw Sp. z o.o.")

    result = outbox_drain(batch_size=1)  # one row a batch: the bulk row meets version 2 in the store

    assert (result.applied, result.stale) == (1, 1)
    assert _graph_names() == ["Nuctech Warsaw Sp. z o.o."]
    lazy.refresh_from_db()
    newer.refresh_from_db()
    # The superseded row is delivered without being applied; the chain of applied rows goes 0 -> 2.
    assert (lazy.delivered_at is not None, lazy.graph_version_before) == (True, None)
    assert newer.graph_version_before == 0
    assert parity_check().ok


def test_a_row_whose_object_is_gone_leaves_it_to_the_deletion(graph, alice):
    (entity,) = _bulk_entities(alice, "Short-lived Ltd")
    uid = str(entity.uuid)
    Entity.objects.filter(pk=entity.pk).delete()

    result = outbox_drain(batch_size=1)

    assert result.stale == 1 and result.applied == 1  # the upsert superseded, the deletion applied
    assert _graph_names() == []
    assert run("MATCH (t:Tombstone {uid: $uid}) RETURN t.version AS v", {"uid": uid})[0]["v"] == 2
    assert not OutboxEvent.objects.filter(delivered_at=None).exists()


def test_a_row_naming_a_version_the_store_does_not_have_waits_and_says_why(graph, alice):
    (entity,) = _bulk_entities(alice, "Odd Version Ltd")
    OutboxEvent.objects.filter(uid=str(entity.uuid)).update(version=7)  # as no write of ours leaves it

    result = outbox_drain()

    assert result.applied == 0 and result.waiting == 1
    row = OutboxEvent.objects.get(uid=str(entity.uuid))
    assert row.delivered_at is None and "older version" in row.last_error
    assert _graph_names() == []
    assert row.attempts == 1 and row.graph_version_before is None and row.deliveries == 0
