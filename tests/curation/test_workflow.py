"""Draft -> review -> published -> retracted; only published data is public."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.catalog.vocab import Workflow
from apps.catalog import services
from tests.factories import cite, make_entity, make_record, make_source

pytestmark = pytest.mark.django_db


def test_publishing_needs_a_citation_whose_quote_is_in_the_source(bob):
    a, b = make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published")
    record = make_record(a, b)
    with pytest.raises(ValidationError) as exc:
        services.workflow_transition(user=bob, obj=record, to=Workflow.PUBLISHED)
    assert "citation whose quote is found" in str(exc.value.message_dict["workflow"])
    # A source without stored text cannot verify a quote, so its citation does not count.
    textless = make_source(text="")
    from apps.catalog.models import Citation

    Citation(record=record, source=textless, quote="anything").save()
    with pytest.raises(ValidationError):
        services.workflow_transition(user=bob, obj=record, to=Workflow.PUBLISHED)
    cite(record, "The ministry later banned Acme Scanners Ltd in March 2023.")
    services.workflow_transition(user=bob, obj=record, to=Workflow.PUBLISHED)
    record.refresh_from_db()
    assert (record.workflow, record.published_by, record.published_at is not None) == ("published", bob, True)


def test_a_record_between_unpublished_entities_cannot_be_published(bob):
    record = make_record(make_entity("Draft Ltd"), make_entity("B Ltd", workflow="published"))
    cite(record, "Acme Holding owns 60% of Acme Scanners Ltd.")
    with pytest.raises(ValidationError) as exc:
        services.workflow_transition(user=bob, obj=record, to=Workflow.PUBLISHED)
    assert "Draft Ltd is not published yet" in exc.value.message_dict["subject"][0]


def test_impossible_steps_are_refused_with_a_reason(bob):
    record = make_record(make_entity("A Ltd"), make_entity("B Ltd"))
    with pytest.raises(ValidationError) as exc:
        services.workflow_transition(user=bob, obj=record, to=Workflow.RETRACTED)
    assert "draft cannot be retracted" in exc.value.message_dict["workflow"][0]


def test_only_published_records_are_public(client, alice):
    a, b = make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published")
    record = make_record(a, b, title="Secret draft")
    cite(record, "Acme Holding owns 60% of Acme Scanners Ltd.")
    url = reverse("citations:record", args=[record.uuid])
    assert client.get(url).status_code == 404
    assert client.get(f"/api/records/{record.uuid}/").status_code == 404
    assert "Secret draft" not in client.get("/api/records/").content.decode()
    client.force_login(alice)
    page = client.get(url)
    assert page.status_code == 200 and b"not public" in page.content


def test_a_retracted_record_leaves_a_notice_at_its_permalink(client, bob):
    a, b = make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published")
    record = make_record(a, b, title="Wrong story")
    cite(record, "Acme Holding owns 60% of Acme Scanners Ltd.")
    services.workflow_transition(user=bob, obj=record, to=Workflow.PUBLISHED)
    assert client.get(reverse("citations:record", args=[record.uuid])).status_code == 200
    services.workflow_transition(user=bob, obj=record, to=Workflow.RETRACTED, reason="misread source")
    page = client.get(reverse("citations:record", args=[record.uuid]))
    assert page.status_code == 410 and b"retracted" in page.content and b"Wrong story" not in page.content
    assert record.history.first().history_change_reason == "retracted: misread source"


def test_an_entity_with_published_records_cannot_be_retracted(bob):
    from tests.factories import make_published_record

    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"))
    with pytest.raises(ValidationError) as exc:
        services.workflow_transition(user=bob, obj=record.subject, to=Workflow.RETRACTED)
    assert "published record" in exc.value.message_dict["workflow"][0]
