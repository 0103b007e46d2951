"""Merging duplicates: names become aliases, records and citations move, the decision is kept."""
import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from apps.catalog.models import Citation, Entity, Record
from apps.catalog import services
from apps.curation import services as curation_services
from apps.curation.models import MergeDecision
from apps.curation.selectors import duplicate_candidates
from apps.sync.models import OutboxEvent
from tests.factories import make_source, cite, make_entity, make_record

pytestmark = pytest.mark.django_db


def test_likely_duplicates_are_similar_names_in_the_same_country():
    a = make_entity("Nuctech Company Limited", country="CN")
    b = make_entity("Nuotech Company Limited", country="CN")
    make_entity("Nuctech Company Limited", country="PL", kind="organization")  # another kind
    make_entity("Nuctech Company Limitd", country="DE")                         # another country
    pairs = {frozenset([c.a.pk, c.b.pk]) for c in duplicate_candidates()}
    assert frozenset([a.pk, b.pk]) in pairs
    assert all(len(p) == 2 for p in pairs)
    de = Entity.objects.get(country="DE")
    assert not any(de.pk in p and a.pk in p for p in pairs)


def test_merging_b_into_a_keeps_names_and_moves_records_and_citations(charlie):
    a, b = make_entity("Nuctech", country="CN"), make_entity("Nuotech", country="CN")
    services.fact_create(user=charlie, entity=b, field="founded", value="1997", citations=[
        {"source": make_source(), "quote": "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021."}])
    services.alias_create(user=charlie, entity=b, name="Nuotech Co.")
    buyer = make_entity("Ministry", kind="public_body")
    record = make_record(buyer, b)
    b_uuid = b.uuid
    services.entity_merge(user=charlie, keep=a, merge=b, note="same company")
    a.refresh_from_db()
    assert set(a.aliases.values_list("name", flat=True)) == {"Nuotech", "Nuotech Co."}
    assert Record.objects.get(pk=record.pk).object_id == a.pk
    assert Citation.objects.filter(entity=a, field="fact:founded").count() == 1
    assert [(f.field, f.value, f.workflow) for f in a.fact_set.all()] == [("founded", "1997", "review")]
    assert not Entity.objects.filter(uuid=b_uuid).exists()
    decision = MergeDecision.objects.get()
    assert (decision.verdict, decision.decided_by, decision.kept) == ("same", charlie, a.uuid)
    # the graph hears of all of it through the outbox
    assert OutboxEvent.objects.filter(uid=str(b_uuid), op="delete").exists()
    assert OutboxEvent.objects.filter(uid=str(record.uuid)).latest("id").payload["o"] == str(a.uuid)
    # b was a draft: its names wait for review on a instead of being published by the merge
    assert set(a.aliases.values_list("workflow", flat=True)) == {"review"}
    assert OutboxEvent.objects.filter(uid=str(a.uuid)).latest("id").payload["props"]["aliases"] == []


def test_a_decided_pair_is_not_proposed_again(charlie):
    a, b = make_entity("Acme Scanners", country="CN"), make_entity("Acme Scaners", country="CN")
    assert len(duplicate_candidates()) == 1
    curation_services.merge_decision_record(user=charlie, a=b, b=a, verdict="different", note="two firms")
    assert duplicate_candidates() == []
    assert MergeDecision.objects.get().verdict == "different"


def test_a_merge_that_would_make_an_entity_own_itself_changes_nothing(charlie):
    a, b = make_entity("Acme Holding", country="CN"), make_entity("Acme Holdings", country="CN")
    make_record(a, b, kind="ownership")
    with pytest.raises(ValidationError) as exc:
        services.entity_merge(user=charlie, keep=a, merge=b)
    assert "cannot own itself" in str(exc.value)
    assert Entity.objects.filter(pk=b.pk).exists() and not MergeDecision.objects.exists()
    assert not a.aliases.exists()


def test_merge_through_the_duplicates_page(charlie, bob, as_user):
    a, b = make_entity("Nuctech", country="CN"), make_entity("Nuotech", country="CN")
    page = as_user(charlie).get(reverse("curation:duplicates")).content.decode()
    assert "Nuotech" in page and "Merge B into A" in page
    assert as_user(bob).post(reverse("curation:duplicate_decide"),
                             {"a": a.uuid, "b": b.uuid, "verdict": "merge_into_a"}).status_code == 403
    assert Entity.objects.filter(pk=b.pk).exists()
    as_user(charlie).post(reverse("curation:duplicate_decide"), {"a": a.uuid, "b": b.uuid, "verdict": "merge_into_a"})
    assert not Entity.objects.filter(pk=b.pk).exists()
    assert a.aliases.filter(name="Nuotech").exists()
    # the old address of the merged entity leads to the kept one
    response = as_user(None).get(f"/api/entities/{b.uuid}/")
    assert response.status_code == 301 and str(a.uuid) in response["Location"]
