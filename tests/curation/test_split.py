"""Splitting a merge again: the merged entity comes back whole and the pair stays apart."""
import pytest
from django.core.exceptions import PermissionDenied
from django.urls import reverse

from apps.catalog import services
from apps.catalog.models import Citation, Entity, Record
from apps.curation.models import MergeDecision
from apps.curation.selectors import duplicate_candidates
from apps.sync.models import OutboxEvent
from tests.factories import make_entity, make_record, make_source

pytestmark = pytest.mark.django_db

QUOTE = "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021."


def _merged(charlie):
    a = make_entity("Nuctech", country="CN", identifiers={"lei": "A-LEI"})
    b = make_entity("Nuotech", identifiers={"wikidata": "Q1"}, description="A scanner maker")
    services.alias_create(user=charlie, entity=b, name="Nuotech Co.")
    services.fact_create(user=charlie, entity=b, field="founded", value="1997",
                         citations=[{"source": make_source(), "quote": QUOTE}])
    record = make_record(make_entity("Ministry", kind="public_body"), b)
    b_uuid = b.uuid
    services.entity_merge(user=charlie, keep=a, merge=b, note="looked the same")
    return a, b_uuid, record


def test_it_brings_the_merged_entity_back_with_its_names_facts_citations_and_records(charlie):
    a, b_uuid, record = _merged(charlie)
    decision = MergeDecision.objects.get()
    assert decision.splittable

    restored = services.entity_split(user=charlie, decision=decision, note="two firms")

    assert restored.uuid == b_uuid and restored.name == "Nuotech"
    assert set(restored.aliases.values_list("name", flat=True)) == {"Nuotech Co."}
    assert [(f.field, f.value) for f in restored.fact_set.all()] == [("founded", "1997")]
    assert Citation.objects.filter(entity=restored, field="fact:founded").count() == 1
    assert Record.objects.get(pk=record.pk).object_id == restored.pk
    assert restored.identifiers == {"wikidata": "Q1"} and restored.description == "A scanner maker"
    a.refresh_from_db()
    assert not a.aliases.exists() and not a.fact_set.exists()
    assert a.identifiers == {"lei": "A-LEI"} and a.description == "" and a.country == "CN"
    decision.refresh_from_db()
    assert (decision.verdict, decision.decided_by, decision.note) == ("different", charlie, "split again: two firms")
    assert not decision.splittable
    # The pair is settled: the duplicates page does not offer it again.
    assert not any({c.a.pk, c.b.pk} == {a.pk, restored.pk} for c in duplicate_candidates())
    # The graph hears of it through the outbox: the entity again, its record pointing at it.
    assert OutboxEvent.objects.filter(uid=str(b_uuid)).latest("id").op != "delete"
    assert OutboxEvent.objects.filter(uid=str(record.uuid)).latest("id").payload["o"] == str(b_uuid)
    # Its history tells the story.
    assert any("split Nuotech" in (h.history_change_reason or "") for h in restored.history.all())


def test_only_admins_split_and_a_split_happens_once(charlie, bob, as_user):
    a, b_uuid, _ = _merged(charlie)
    decision = MergeDecision.objects.get()
    with pytest.raises(PermissionDenied):
        services.entity_split(user=bob, decision=decision)
    assert as_user(bob).post(reverse("curation:merge_split", args=[decision.pk])).status_code == 403
    assert not Entity.objects.filter(uuid=b_uuid).exists()

    services.entity_split(user=charlie, decision=decision)
    response = as_user(charlie).post(reverse("curation:merge_split", args=[decision.pk]), follow=True)
    assert "Not split" in response.content.decode()
    assert Entity.objects.filter(uuid=b_uuid).count() == 1


def test_an_admin_splits_from_the_entity_history_page(charlie, as_user):
    a, b_uuid, _ = _merged(charlie)
    client = as_user(charlie)
    history = reverse("curation:entity_history", args=[a.uuid])
    page = client.get(history).content.decode()
    assert "Split again" in page and "Nuotech" in page
    decision = MergeDecision.objects.get()

    response = client.post(reverse("curation:merge_split", args=[decision.pk]),
                           {"note": "not the same", "next": history}, follow=True)

    assert response.redirect_chain[-1][0] == history
    assert "Split Nuotech off again" in response.content.decode()
    assert Entity.objects.filter(uuid=b_uuid, name="Nuotech").exists()


def test_followers_of_the_merged_entity_follow_the_kept_one_and_get_their_follow_back_on_split(charlie, bob):
    from apps.following.models import Follow

    a = make_entity("Nuctech", country="CN")
    b = make_entity("Nuotech")
    Follow.objects.create(user=bob, entity=b, notified_at=b.created_at)       # followed the merged one only
    Follow.objects.create(user=charlie, entity=a, notified_at=a.created_at)   # followed both
    Follow.objects.create(user=charlie, entity=b, notified_at=b.created_at)
    services.entity_merge(user=charlie, keep=a, merge=b)

    # The merge does not silently drop bob's follow: he now follows the entity it became.
    assert set(Follow.objects.values_list("user__username", "entity__name")) == {("bob", "Nuctech"),
                                                                                  ("charlie", "Nuctech")}

    restored = services.entity_split(user=charlie, decision=MergeDecision.objects.get())

    assert set(Follow.objects.values_list("user__username", "entity_id")) == {
        ("bob", restored.pk), ("charlie", a.pk), ("charlie", restored.pk)}
