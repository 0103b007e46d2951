"""The entity page: names, aliases, identifiers, its records grouped with their sources."""
import pytest
from django.urls import reverse
from django.utils.html import escape

pytestmark = pytest.mark.django_db


def test_nuctech_page_groups_its_records_with_sources_and_quotes(client, casestudy, django_assert_max_num_queries):
    nuctech = casestudy["nuctech"]
    with django_assert_max_num_queries(10):
        response = client.get(reverse("browse:entity", args=[nuctech.uuid]))
    assert response.status_code == 200
    html = response.content.decode()
    groups = {g["key"]: g for g in response.context["groups"]}
    assert {"owners", "contracts", "bans", "loans", "donations", "deployments", "roles", "investigations"} <= set(groups)
    assert groups["bans"]["total"] == 3
    assert "Nuotech" in html and "Nuctech Company Limited" in html  # aliases
    # A card: dates, amount with currency, status, publisher, the quote on demand, the permalink.
    loan = casestudy["nuctech"].records_party.get(kind="loan")
    assert f'href="/records/{loan.uuid}/"' in html
    assert "8,631,474 EUR" in html and "2014 – 2025" in html
    assert "Radio Free Europe" in html and "<details><summary>Quote" in html
    citation = loan.citations.first()
    assert escape(citation.quote) in html
    # The ultimate owner is named (answered by Neo4j) and every view is linked.
    assert response.context["owners"][0]["node"]["name"] == "China"
    for name in ["browse:ownership", "browse:deployments", "browse:connections"]:
        assert reverse(name, args=[nuctech.uuid]) in html


def test_a_group_shows_the_newest_six_and_the_rest_on_its_own_pages(client, publish, graph, django_assert_max_num_queries):
    vendor = publish.entity("Acme Scanners Ltd")
    buyers = [publish.entity(f"Buyer {i:02d}", kind="public_body") for i in range(30)]
    for i, buyer in enumerate(buyers):
        publish.record(buyer, vendor, kind="contract", start=f"20{10 + i % 10}")
    publish.drain()
    with django_assert_max_num_queries(10):
        response = client.get(reverse("browse:entity", args=[vendor.uuid]))
    group = response.context["groups"][0]
    assert group["total"] == 30 and len(group["records"]) == 6 and group["more"]
    assert group["records"][0].start == "2019"  # newest first
    url = reverse("browse:entity_group", args=[vendor.uuid, "contracts"])
    with django_assert_max_num_queries(8):
        page2 = client.get(url, {"page": 2}, HTTP_HX_REQUEST="true")
    assert len(page2.context["page_obj"].object_list) == 5
    assert page2.content.decode().count('class="record-card') == 5


def test_unpublished_entities_and_records_are_not_public(client, publish, graph):
    vendor = publish.entity("Acme Scanners Ltd")
    buyer = publish.entity("Ministry", kind="public_body")
    record = publish.record(buyer, vendor)
    record.workflow = "review"
    record.save()
    publish.drain()
    response = client.get(reverse("browse:entity", args=[vendor.uuid]))
    assert response.context["groups"] == []
    vendor.workflow = "draft"
    vendor.save()
    assert client.get(reverse("browse:entity", args=[vendor.uuid])).status_code == 404
