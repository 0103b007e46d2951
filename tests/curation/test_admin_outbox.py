"""Every kind of admin change reaches Neo4j through the outbox (drained here in-process;
one test through a real Celery worker)."""
import pytest

from apps.catalog.models import Alias, Entity, Record
from apps.sync.services import outbox_drain
from graph.connection import run
from tests.conftest import wait_for
from tests.factories import cite, make_entity, make_published_record, make_record, make_source

pytestmark = pytest.mark.django_db

QUOTE = "Acme Holding owns 60% of Acme Scanners Ltd."


def node(uid):
    rows = run("MATCH (n:Entity {uid: $uid}) RETURN n {.*} AS n", {"uid": str(uid)})
    return rows[0]["n"] if rows else None


def rel(uid):
    rows = run("MATCH (a)-[r {uid: $uid}]->(b) RETURN r {.*} AS r, a.uid AS a, b.uid AS b", {"uid": str(uid)})
    return rows[0] if rows else None


def inlines(*prefixes, **forms):
    data = {}
    for prefix in prefixes:
        rows = forms.get(prefix, [])
        data.update({f"{prefix}-TOTAL_FORMS": str(len(rows)), f"{prefix}-INITIAL_FORMS": "0",
                     f"{prefix}-MIN_NUM_FORMS": "0", f"{prefix}-MAX_NUM_FORMS": "1000"})
        for i, row in enumerate(rows):
            data.update({f"{prefix}-{i}-{k}": v for k, v in row.items()})
    return data


ENTITY_INLINES = ("aliases", "fact_set", "citations")


def entity_form(**fields):
    data = {"name": "", "kind": "company", "country": "", "iso_code": "", "state_owned": "unknown",
            "description": "", "identifiers": "{}", **inlines(*ENTITY_INLINES)}
    data.update(fields)
    return data


def test_adding_an_entity_and_a_name_in_the_admin(graph, alice, as_user):
    client = as_user(alice)
    response = client.post("/admin/catalog/entity/add/", entity_form(name="Nuctech", country="CN"))
    assert response.status_code == 302, response.context["adminform"].form.errors if response.context else ""
    entity = Entity.objects.get(name="Nuctech")
    response = client.post("/admin/catalog/alias/add/", {"entity": entity.pk, "name": "Nuotech"})
    assert response.status_code == 302
    alias = Alias.objects.get(name="Nuotech")
    assert alias.workflow == "draft" and alias.history.first().history_user == alice
    outbox_drain()
    # A proposed name waits for review: it is not in the graph (nor searchable) yet.
    assert not node(entity.uuid).get("aliases")  # no published name: no list stored
    assert entity.history.first().history_user == alice


def test_changing_an_entity_in_the_admin(graph, alice, as_user):
    entity = make_entity("Nuctech", country="CN")
    client = as_user(alice)
    response = client.post(f"/admin/catalog/entity/{entity.pk}/change/", entity_form(name="Nuctech Co.", country="CN"))
    assert response.status_code == 302
    outbox_drain()
    assert node(entity.uuid)["name"] == "Nuctech Co."


def test_adding_a_record_then_its_citation_in_the_admin(graph, alice, as_user):
    a, b, source = make_entity("Acme Holding"), make_entity("Acme Scanners Ltd"), make_source()
    client = as_user(alice)
    response = client.post("/admin/catalog/record/add/", {
        "kind": "ownership", "title": "Acme Holding owns Acme", "description": "", "subject": a.pk,
        "object": b.pk, "site": "", "party": "", "related": "", "start": "2020", "end": "", "amount": "",
        "currency": "", "amount_kind": "", "share_pct": "60", "status": "active", "procedure": "", "attributes": "{}",
        **inlines("citations")})
    assert response.status_code == 302, response.context["errors"] if response.context else ""
    record = Record.objects.get()
    response = client.post("/admin/catalog/citation/add/", {"source": source.pk, "record": record.pk, "entity": "",
                                                            "fact": "", "field": "share_pct", "quote": QUOTE})
    assert response.status_code == 302
    outbox_drain()
    found = rel(record.uuid)
    assert (found["a"], found["b"], found["r"]["share_pct"]) == (str(a.uuid), str(b.uuid), 60.0)
    assert found["r"]["sources"] == [str(source.uuid)]


def test_a_quote_not_in_the_source_is_refused_in_the_admin(alice, as_user):
    a, b, source = make_entity("Acme Holding"), make_entity("Acme Scanners Ltd"), make_source()
    record = make_record(a, b)
    response = as_user(alice).post("/admin/catalog/citation/add/", {
        "source": source.pk, "record": record.pk, "entity": "", "fact": "", "field": "",
        "quote": "Acme bribed everyone."})
    assert response.status_code == 200 and "not found verbatim" in response.content.decode()
    assert not record.citations.exists()


def test_publishing_and_retracting_with_the_admin_actions(graph, bob, as_user):
    a, b = make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published")
    record = make_record(a, b)
    cite(record, QUOTE)
    client = as_user(bob)
    client.post("/admin/catalog/record/", {"action": "workflow_published", "_selected_action": [record.pk]})
    outbox_drain()
    assert rel(record.uuid)["r"]["workflow"] == "published"
    client.post("/admin/catalog/record/", {"action": "workflow_retracted", "_selected_action": [record.pk]})
    outbox_drain()
    assert rel(record.uuid)["r"]["workflow"] == "retracted"


def test_the_publish_action_is_refused_to_editors(alice, as_user):
    record = make_record(make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published"))
    cite(record, QUOTE)
    response = as_user(alice).post("/admin/catalog/record/", {"action": "workflow_published",
                                                             "_selected_action": [record.pk]}, follow=True)
    assert "Only reviewers and admins" in response.content.decode()
    assert Record.objects.get(pk=record.pk).workflow == "draft"


def test_deleting_in_the_admin(graph, charlie, as_user):
    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"))
    outbox_drain()
    assert rel(record.uuid) is not None
    response = as_user(charlie).post(f"/admin/catalog/record/{record.pk}/delete/", {"post": "yes"})
    assert response.status_code == 302
    outbox_drain()
    assert rel(record.uuid) is None


def test_merging_reaches_the_graph(graph, charlie):
    from apps.catalog.services import entity_merge

    a = make_entity("Nuctech", country="CN", workflow="published")
    b = make_entity("Nuotech", country="CN", workflow="published")
    record = make_record(make_entity("Buyer"), b)
    outbox_drain()
    entity_merge(user=charlie, keep=a, merge=b)
    outbox_drain()
    assert node(b.uuid) is None
    assert rel(record.uuid)["b"] == str(a.uuid)
    assert "Nuotech" in node(a.uuid)["aliases"]


def test_reverting_reaches_the_graph(graph, bob):
    from apps.catalog.services import record_update, revision_revert

    record = make_published_record(make_entity("A Ltd"), make_entity("B Ltd"), title="Right")
    first = record.history.first().history_id
    record_update(user=bob, record=record, title="Wrong")
    outbox_drain()
    assert rel(record.uuid)["r"]["title"] == "Wrong"
    revision_revert(user=bob, obj=record, history_id=first)
    outbox_drain()
    assert rel(record.uuid)["r"]["title"] == "Right"


@pytest.mark.e2e
@pytest.mark.django_db(transaction=True)
def test_an_admin_change_reaches_neo4j_through_the_real_worker(graph, worker, alice, as_user):
    client = as_user(alice)
    response = client.post("/admin/catalog/entity/add/", {**entity_form(name="Worker Test Ltd", country="BE"),
                                                           **inlines("aliases", "citations")})
    assert response.status_code == 302
    entity = Entity.objects.get(name="Worker Test Ltd")
    wait_for(lambda: node(entity.uuid) is not None, message="the entity in Neo4j")
    client.post(f"/admin/catalog/entity/{entity.pk}/change/", {**entity_form(name="Worker Test Limited", country="BE"),
                                                               **inlines("aliases", "citations")})
    wait_for(lambda: (node(entity.uuid) or {}).get("name") == "Worker Test Limited", message="the change in Neo4j")
