"""The holes a review found, each refused or invisible now (issue "Integrity")."""
import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from apps.catalog import services
from apps.catalog.models import Alias, Entity, Record, Source
from apps.sync.models import OutboxEvent
from apps.sync.services import outbox_drain
from graph import queries
from tests.factories import cite, make_entity, make_published_record, make_record, make_source

pytestmark = pytest.mark.django_db

QUOTE = "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021."
EVIL = "Spy Company EVIL"


def test_an_editors_new_name_for_a_published_entity_is_not_public(graph, alice, as_user, client):
    nuctech = make_entity("Nuctech", country="CN", workflow="published")
    make_published_record(nuctech, make_entity("Customs"))
    response = as_user(alice).post("/admin/catalog/alias/add/", {"entity": nuctech.pk, "name": EVIL})
    assert response.status_code == 302
    alias = Alias.objects.get(name=EVIL)
    assert alias.workflow == "draft"
    outbox_drain()
    client.logout()
    api = client.get("/api/entities/", {"q": "Nuctech"}).json()
    assert [e["aliases"] for e in api["results"]] == [[]]
    assert client.get("/api/entities/", {"q": EVIL}).json()["results"] == []
    assert not client.get(reverse("browse:search"), {"q": EVIL}).context["results"]
    assert EVIL not in client.get(reverse("browse:entity", args=[nuctech.uuid])).content.decode()
    export = client.get(reverse("citations:export_entity", args=[nuctech.uuid, "ftm"])).content.decode()
    assert "Nuctech" in export and EVIL not in export
    node = queries.run("MATCH (n:Entity {uid: $uid}) RETURN n.aliases AS a", {"uid": str(nuctech.uuid)})
    assert not node[0]["a"]  # no published name: no list stored


def test_a_name_is_published_only_by_a_reviewer_with_a_found_quote(alice, bob):
    nuctech = make_entity("Nuctech", workflow="published")
    source = Source.objects.create(title="Article", text="Nuctech, spelled Nuotech in some papers, makes scanners.")
    alias = services.alias_create(user=alice, entity=nuctech, name="Nuotech",
                                  citations=[{"source": source, "quote": "spelled Nuotech in some papers"}])
    with pytest.raises(PermissionDenied):
        services.workflow_transition(user=alice, obj=alias, to="published")
    bare = services.alias_create(user=alice, entity=nuctech, name=EVIL)
    with pytest.raises(ValidationError, match="citation"):
        services.workflow_transition(user=bob, obj=bare, to="published")
    services.workflow_transition(user=bob, obj=alias, to="published")
    assert Alias.objects.get(pk=alias.pk).workflow == "published"
    assert OutboxEvent.objects.filter(uid=str(nuctech.uuid)).latest("id").payload["props"]["aliases"] == ["Nuotech"]


def _record_with_draft_party(graph_too=True):
    vendor, buyer = make_entity("Vendor Ltd", workflow="published"), make_entity("Buyer", kind="public_body",
                                                                                   workflow="published")
    record = make_published_record(buyer, vendor, kind="deployment", status="active")
    secret = make_entity("Secret Operator Ltd")  # a draft
    # As data written before the rule existed would be: straight to the row, past the services.
    Record.objects.filter(pk=record.pk).update(party=secret)
    return record, secret


def test_a_published_record_naming_a_draft_party_is_not_public(graph, client, bob):
    record, secret = _record_with_draft_party()
    outbox_drain()
    assert client.get(reverse("citations:record", args=[record.uuid])).status_code == 404
    assert client.get(f"/api/records/{record.uuid}/").status_code == 404
    assert secret.name not in client.get(reverse("browse:entity", args=[record.object.uuid])).content.decode()
    assert queries.vendor_footprint(str(record.object.uuid)) == []
    # a curator still sees it, marked as not public
    client.force_login(bob)
    assert client.get(reverse("citations:record", args=[record.uuid])).status_code == 200


def test_publishing_needs_every_named_entity_published(bob):
    vendor, buyer = make_entity("Vendor Ltd", workflow="published"), make_entity("Buyer", workflow="published")
    site = make_entity("Border crossing", kind="site")
    record = make_record(buyer, vendor, kind="deployment", site=site)
    cite(record, QUOTE)
    with pytest.raises(ValidationError) as exc:
        services.workflow_transition(user=bob, obj=record, to="published")
    assert "Border crossing is not published" in exc.value.message_dict["site"][0]
    published = make_published_record(buyer, vendor)
    with pytest.raises(ValidationError) as exc:
        services.record_update(user=bob, record=published, party=site)
    assert "party" in exc.value.message_dict
    assert Record.objects.get(pk=published.pk).party_id is None


def test_retracting_an_entity_named_as_a_site_is_refused_with_the_records(bob):
    vendor, buyer = make_entity("Vendor Ltd"), make_entity("Buyer")
    site = make_entity("Airport", kind="site", workflow="published")
    record = make_published_record(buyer, vendor, kind="deployment", site=site, title="Scanners at the airport")
    with pytest.raises(ValidationError) as exc:
        services.workflow_transition(user=bob, obj=site, to="retracted")
    message = exc.value.message_dict["workflow"][0]
    assert "Scanners at the airport" in message and str(record.uuid) in message
    assert Entity.objects.get(pk=site.pk).workflow == "published"


def test_a_source_cited_only_by_drafts_is_not_public(client, bob):
    hidden = make_source(title="Unpublished dossier")
    cite(make_record(make_entity("A"), make_entity("B")), QUOTE, source=hidden)
    shown = make_source(title="Published article")
    make_published_record(make_entity("C"), make_entity("D"), source=shown)
    titles = client.get(reverse("citations:sources")).content.decode()
    assert "Published article" in titles and "Unpublished dossier" not in titles
    assert client.get(reverse("citations:source", args=[hidden.uuid])).status_code == 404
    assert [s["title"] for s in client.get("/api/sources/").json()["results"]] == ["Published article"]
    assert client.get(f"/api/sources/{hidden.uuid}/").status_code == 404
    client.force_login(bob)
    assert client.get(reverse("citations:source", args=[hidden.uuid])).status_code == 200


def test_changing_a_cited_sources_text_unverifies_the_quote_and_flags_the_record(bob, as_user):
    source = make_source()
    record = make_published_record(make_entity("A"), make_entity("B"), source=source)
    services.source_update(user=bob, source=source, text="A corrected article that says something else.")
    citation = record.citations.get()
    assert citation.found is False
    record.refresh_from_db()
    assert "no longer found" in record.flag
    queue = as_user(bob).get(reverse("curation:queue")).content.decode()
    assert "Flagged published records" in queue and "no longer found" in queue


def test_the_admins_bulk_delete_goes_through_the_services(charlie, alice, as_user):
    records = [make_record(make_entity(f"S{i}"), make_entity(f"O{i}")) for i in range(2)]
    response = as_user(charlie).post("/admin/catalog/record/", {
        "action": "delete_selected", "_selected_action": [r.pk for r in records], "post": "yes"})
    assert response.status_code == 302
    assert not Record.objects.filter(pk__in=[r.pk for r in records]).exists()
    for r in records:
        event = OutboxEvent.objects.filter(uid=str(r.uuid)).latest("id")
        assert event.op == "delete"
        assert r.history.latest().history_user == charlie
    # An entity that still has records is kept, whole selection and all, with the reason.
    a, b = make_entity("Keep A"), make_entity("Keep B")
    make_record(a, make_entity("Other"))
    response = as_user(charlie).post("/admin/catalog/entity/", {
        "action": "delete_selected", "_selected_action": [a.pk, b.pk], "post": "yes"}, follow=True)
    assert "Cannot delete" in response.content.decode()
    assert Entity.objects.filter(pk__in=[a.pk, b.pk]).count() == 2
    # Editors may not delete records at all.
    other = make_record(make_entity("X"), make_entity("Y"))
    response = as_user(alice).post("/admin/catalog/record/", {
        "action": "delete_selected", "_selected_action": [other.pk], "post": "yes"})
    assert Record.objects.filter(pk=other.pk).exists()


def test_an_editor_cannot_change_a_published_citation_in_the_admin(alice, as_user):
    record = make_published_record(make_entity("A"), make_entity("B"))
    citation = record.citations.get()
    response = as_user(alice).post(f"/admin/catalog/citation/{citation.pk}/change/", {
        "source": citation.source_id, "record": record.pk, "entity": "", "fact": "", "field": "",
        "quote": "Acme Holding owns 60% of Acme Scanners Ltd."})
    assert response.status_code in (302, 403)
    citation.refresh_from_db()
    assert citation.quote == QUOTE


def test_merging_a_draft_into_a_published_entity_puts_its_claims_up_for_review(charlie):
    keep = make_entity("Nuctech", workflow="published")
    draft = make_entity("Nuotech Ltd")
    cite(draft, QUOTE)
    services.fact_create(user=charlie, entity=draft, field="founded", value="1997",
                         citations=[{"source": make_source(), "quote": QUOTE}])
    services.entity_merge(user=charlie, keep=keep, merge=draft)
    alias = keep.aliases.get()
    assert (alias.name, alias.workflow) == ("Nuotech Ltd", "review")
    assert keep.fact_set.get().workflow == "review"
    # the draft's own citation now supports the name it went by, not the published entity
    assert set(keep.citations.filter(fact__isnull=True).values_list("field", flat=True)) == {"alias:Nuotech Ltd"}
    from apps.catalog.selectors.visibility import public_citations

    assert not public_citations().filter(entity=keep).exists()


def test_nuctechs_facts_keep_every_source_side_by_side(casestudy, client):
    nuctech = casestudy["nuctech"]
    activity = nuctech.fact_set.filter(field="activity")
    assert activity.count() == 2
    for fact in activity:
        publishers = {c.source.publisher for c in fact.citations.select_related("source")}
        assert len(publishers) == 1, "each value is backed by its own article's quotes"
    assert len({frozenset(c.source_id for c in f.citations.all()) for f in activity}) == 2
    page = client.get(reverse("browse:entity", args=[nuctech.uuid])).content.decode()
    for fact in activity:
        assert fact.value[:40] in page.replace("&#x27;", "'")
    api = client.get(f"/api/entities/{nuctech.uuid}/").json()
    assert len([f for f in api["facts"] if f["field"] == "activity"]) == 2


def test_the_admin_searches_entities_with_the_one_search(alice, as_user):
    make_entity("Nuctech Company Limited", country="CN")
    make_entity("Hikvision")
    page = as_user(alice).get("/admin/catalog/entity/", {"q": "nuctek"})
    assert [e.name for e in page.context["cl"].result_list] == ["Nuctech Company Limited"]
