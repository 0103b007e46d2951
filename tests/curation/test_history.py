"""Every change is recorded (who, when, what) with a readable diff, and can be reverted."""
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.catalog.models import Record
from apps.catalog import services
from apps.curation.selectors import object_history
from apps.sync.models import OutboxEvent
from tests.factories import cite, make_entity, make_published_record, make_record

pytestmark = pytest.mark.django_db


def test_it_records_who_changed_what_with_a_readable_diff(alice):
    a, b, c = make_entity("Buyer Ltd"), make_entity("Vendor Ltd"), make_entity("Other Vendor Ltd")
    record = services.record_create(user=alice, kind="contract", subject=a, object=b, title="First title")
    services.record_update(user=alice, record=record, title="Second title", object=c, start="2021")
    cite(record, "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.")
    entries = object_history(record)
    latest_own = next(e for e in entries if e.what == "record")
    assert latest_own.user == "alice" and latest_own.action == "changed" and latest_own.version == 2
    changes = {c.field: (c.old, c.new) for c in latest_own.changes}
    assert changes["title"] == ("First title", "Second title")
    assert changes["object"] == ("Vendor Ltd", "Other Vendor Ltd")   # names, not ids
    assert changes["start"] == ("—", "2021")
    assert any(e.what.startswith("citation from") and e.action == "created" for e in entries)


def test_the_history_page_shows_the_diff_and_a_revert_button(alice, as_user):
    record = services.record_create(user=alice, kind="contract", subject=make_entity("A Ltd"),
                                    object=make_entity("B Ltd"), title="Before")
    services.record_update(user=alice, record=record, title="After")
    page = as_user(alice).get(reverse("curation:record_history", args=[record.uuid])).content.decode()
    assert "Before" in page and "After" in page and "alice" in page and "Revert to this version" in page


def test_a_revert_restores_the_earlier_version_as_a_new_version_through_the_outbox(alice, bob):
    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"), title="Correct", start="2021")
    good = record.history.first().history_id
    services.record_update(user=bob, record=record, title="Vandalised", start="2019")
    version = Record.objects.get(pk=record.pk).version
    services.revision_revert(user=bob, obj=record, history_id=good)
    record.refresh_from_db()
    assert (record.title, record.start, record.workflow) == ("Correct", "2021", "published")
    assert record.version == version + 1
    event = OutboxEvent.objects.filter(uid=str(record.uuid)).latest("id")
    assert (event.version, event.payload["props"]["title"]) == (record.version, "Correct")
    assert record.history.first().history_change_reason.startswith(f"reverted to revision {good}")
    assert record.history.first().history_user == bob


def test_editors_cannot_revert_published_records(alice, bob):
    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"), title="Correct")
    first = record.history.last().history_id
    services.record_update(user=bob, record=record, title="Changed")
    with pytest.raises(PermissionDenied):
        services.revision_revert(user=alice, obj=record, history_id=first)
    assert Record.objects.get(pk=record.pk).title == "Changed"


def test_revert_through_the_page(bob, as_user):
    record = make_record(make_entity("A Ltd"), make_entity("B Ltd"), title="One")
    first = record.history.first().history_id
    services.record_update(user=bob, record=record, title="Two")
    response = as_user(bob).post(reverse("curation:record_revert", args=[record.uuid, first]))
    assert response.status_code == 302
    assert Record.objects.get(pk=record.pk).title == "One"


def test_entity_history_includes_names(alice, as_user):
    entity = services.entity_create(user=alice, kind="company", name="Nuctech")
    services.alias_create(user=alice, entity=entity, name="Nuotech")
    services.entity_update(user=alice, entity=entity, name="Nuctech Co.")
    page = as_user(alice).get(reverse("curation:entity_history", args=[entity.uuid])).content.decode()
    assert "name “Nuotech”" in page and "Nuctech Co." in page


def test_touching_does_not_add_history_rows():
    record = make_record(make_entity("A Ltd"), make_entity("B Ltd"))
    before = record.history.count()
    cite(record, "Acme Holding owns 60% of Acme Scanners Ltd.")  # re-projects the record
    assert record.history.count() == before
