"""The outbox row is written in the same transaction as the change."""
import pytest
from django.db import transaction

from apps.catalog.models import Alias, Entity
from apps.sync.models import OutboxEvent
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.django_db


def test_it_writes_an_outbox_row_with_each_change():
    entity = make_entity("Acme Scanners Ltd")
    entity.name = "Acme Scanners Limited"
    entity.save()
    events = list(OutboxEvent.objects.filter(uid=str(entity.uuid)).order_by("id"))
    assert [(e.op, e.version) for e in events] == [("upsert", 1), ("upsert", 2)]
    assert events[-1].payload["props"]["name"] == "Acme Scanners Limited"


def test_a_rolled_back_change_leaves_no_outbox_row():
    with pytest.raises(RuntimeError), transaction.atomic():
        make_entity("Ghost Ltd")
        raise RuntimeError("abort")
    assert not Entity.objects.filter(name="Ghost Ltd").exists()
    assert OutboxEvent.objects.count() == 0


def test_deleting_writes_a_newer_versioned_delete():
    a, b = make_entity("A Ltd"), make_entity("B Ltd")
    record = make_record(a, b)
    uid = str(record.uuid)
    record.delete()
    events = list(OutboxEvent.objects.filter(uid=uid).order_by("id"))
    assert [(e.op, e.version) for e in events] == [("upsert", 1), ("delete", 2)]


def test_an_alias_reprojects_its_entity():
    entity = make_entity("Nuctech Company Limited")
    Alias(entity=entity, name="Nuotech", workflow="published").save()
    latest = OutboxEvent.objects.filter(uid=str(entity.uuid)).latest("id")
    assert latest.version == 2
    assert "Nuotech" in latest.payload["props"]["aliases"]
    assert "names_norm" not in latest.payload["props"], "search runs on the store of record, not the graph"


def test_bulk_queryset_writes_still_reach_the_outbox():
    entity = make_entity("Bulk Ltd")
    Entity.objects.filter(pk=entity.pk).update(description="changed")
    latest = OutboxEvent.objects.filter(uid=str(entity.uuid)).latest("id")
    assert latest.version == 2
    Entity.objects.filter(pk=entity.pk).delete()
    assert OutboxEvent.objects.filter(uid=str(entity.uuid)).latest("id").op == "delete"
    with pytest.raises(NotImplementedError):
        Entity.objects.bulk_create([Entity(name="x", kind="company")])
