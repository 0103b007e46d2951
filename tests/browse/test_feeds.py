"""Atom feeds of newly published records: valid Atom, only public records."""
import xml.etree.ElementTree as ET

import pytest
from django.urls import reverse

from apps.catalog.models import Entity, Record

pytestmark = pytest.mark.django_db
ATOM = "{http://www.w3.org/2005/Atom}"


def _entries(response):
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/atom+xml")
    feed = ET.fromstring(response.content)
    assert feed.tag == f"{ATOM}feed"
    for required in ("id", "title", "updated"):
        assert feed.find(f"{ATOM}{required}") is not None and feed.find(f"{ATOM}{required}").text
    entries = feed.findall(f"{ATOM}entry")
    for entry in entries:
        for required in ("id", "title", "updated"):
            assert entry.find(f"{ATOM}{required}").text, required
        assert entry.find(f"{ATOM}link").get("href").startswith("http")
    return entries


@pytest.fixture
def mixed(publish):
    acme = publish.entity("Acme Scanners Ltd")
    customs = publish.entity("Customs <Agency>", kind="public_body", country="PL")
    public = publish.record(customs, acme, kind="contract", title="Customs buys scanners", start="2021")
    draft = Record(kind="contract", subject=customs, object=acme, title="A draft contract")
    draft.save()
    hidden_party = Entity(name="Unreviewed Ltd", kind="company")
    hidden_party.save()
    behind = publish.record(customs, hidden_party, kind="contract", title="Names an unpublished entity")
    other = publish.entity("Other Corp")
    unrelated = publish.record(customs, other, kind="contract", title="Customs buys from Other Corp")
    return {"acme": acme, "public": public, "draft": draft, "behind": behind, "unrelated": unrelated}


def test_the_records_feed_is_atom_with_only_public_records(client, mixed, django_assert_max_num_queries):
    with django_assert_max_num_queries(4):  # whatever the number of records
        response = client.get(reverse("browse:records_feed"))
    entries = _entries(response)
    titles = [e.find(f"{ATOM}title").text for e in entries]
    assert "Customs buys scanners" in titles and "Customs buys from Other Corp" in titles
    assert "A draft contract" not in titles and "Names an unpublished entity" not in titles
    entry = entries[titles.index("Customs buys scanners")]
    assert entry.find(f"{ATOM}link").get("href").endswith(f"/records/{mixed['public'].uuid}/")
    summary = entry.find(f"{ATOM}summary").text
    assert "Customs &lt;Agency&gt;" in summary, "labels are escaped inside the HTML summary"
    assert "Acme Scanners Ltd won a contract" in summary, "the quote travels with the item"


def test_an_entitys_feed_has_only_its_public_records(client, mixed):
    entries = _entries(client.get(reverse("browse:entity_feed", args=[mixed["acme"].uuid])))
    assert [e.find(f"{ATOM}title").text for e in entries] == ["Customs buys scanners"]


def test_an_unpublished_entity_has_no_feed(client, mixed):
    draft = Entity.objects.get(name="Unreviewed Ltd")
    assert client.get(reverse("browse:entity_feed", args=[draft.uuid])).status_code == 404
