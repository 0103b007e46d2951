"""Source pages, and exports of a neighbourhood or a search (CSV, FtM JSON lines, GraphML)."""
import csv
import io
import json
import zipfile
from xml.etree import ElementTree

import pytest
from django.urls import reverse

from apps.sync.services import outbox_drain
from tests.factories import cite, make_entity, make_published_record, make_record, make_source

pytestmark = pytest.mark.django_db


@pytest.fixture
def world():
    source = make_source(publisher="Wire A", url="https://example.org/a")
    holding = make_entity("Acme Holding", country="CN")
    vendor = make_entity("Acme Scanners Ltd", country="CN")
    ministry = make_entity("Ministry of Finance", kind="public_body", country="LT")
    owns = make_published_record(holding, vendor, kind="ownership", share_pct=60,
                                 quote="Acme Holding owns 60% of Acme Scanners Ltd.", source=source)
    ban = make_published_record(ministry, vendor, kind="ban", start="2023-03",
                                quote="The ministry later banned Acme Scanners Ltd in March 2023.", source=source)
    draft = make_record(ministry, holding, kind="contract", title="Unpublished contract")
    cite(draft, "Acme Scanners Ltd won a contract worth 1,200,000 euros in 2021.", source)
    cite(vendor, "Acme Scanners Ltd won a contract", source, field="fact:contracts")
    return {"source": source, "holding": holding, "vendor": vendor, "ministry": ministry, "owns": owns, "ban": ban}


def test_a_source_page_lists_what_it_supports_from_both_ends(world, client):
    page = client.get(reverse("citations:source", args=[world["source"].uuid])).content.decode()
    assert "Wire A" in page and "https://example.org/a" in page
    for name in ("Acme Holding", "Acme Scanners Ltd", "Ministry of Finance"):
        assert f"<h3>{name}</h3>" in page
    assert page.count(f"/records/{world['owns'].uuid}/") >= 3   # under both ends and in the quote list
    assert "as owner" in page and "as owned" in page
    assert "Unpublished contract" not in page
    assert "fact:contracts" in page


def test_export_a_search_as_csv(world, client):
    response = client.get(reverse("citations:export_search", args=["csv"]), {"q": "acme"})
    assert response["Content-Type"] == "application/zip"
    archive = zipfile.ZipFile(io.BytesIO(response.content))
    assert sorted(archive.namelist()) == ["citations.csv", "edges.csv", "nodes.csv", "sources.csv"]
    edges = list(csv.DictReader(io.StringIO(archive.read("edges.csv").decode())))
    assert {e["kind"] for e in edges} == {"ownership", "ban"}     # the draft is not exported
    nodes = {n["name"] for n in csv.DictReader(io.StringIO(archive.read("nodes.csv").decode()))}
    assert nodes == {"Acme Holding", "Acme Scanners Ltd", "Ministry of Finance"}
    quotes = [c["quote"] for c in csv.DictReader(io.StringIO(archive.read("citations.csv").decode()))]
    assert "Acme Holding owns 60% of Acme Scanners Ltd." in quotes
    assert "Wire A" in archive.read("sources.csv").decode()


def test_export_a_search_as_followthemoney(world, client):
    body = client.get(reverse("citations:export_search", args=["ftm"]), {"q": "acme"}).content.decode()
    items = [json.loads(line) for line in body.splitlines()]
    by_schema = {}
    for item in items:
        by_schema.setdefault(item["schema"], []).append(item)
    assert set(by_schema) == {"Article", "Company", "PublicBody", "Ownership", "Sanction"}
    ownership = by_schema["Ownership"][0]["properties"]
    assert ownership["owner"] == [f"vg-{world['holding'].uuid}"] and ownership["percentage"] == ["60.000"]
    assert ownership["sourceUrl"] == ["https://example.org/a"] and ownership["publisher"] == ["Wire A"]
    assert "Acme Holding owns 60% of Acme Scanners Ltd." in ownership["description"][0]
    assert ownership["proof"] == [f"vg-{world['source'].uuid}"]
    assert by_schema["Sanction"][0]["properties"]["startDate"] == ["2023-03"]


def test_export_a_search_as_graphml(world, client):
    body = client.get(reverse("citations:export_search", args=["graphml"]), {"q": "acme"}).content
    ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
    root = ElementTree.fromstring(body)
    assert len(root.findall(".//g:node", ns)) == 3 and len(root.findall(".//g:edge", ns)) == 2
    quotes = [d.text for d in root.findall(".//g:edge/g:data[@key='e_quotes']", ns)]
    assert "Acme Holding owns 60% of Acme Scanners Ltd." in quotes


def test_export_a_neighbourhood_from_the_graph(world, graph, client):
    outbox_drain()
    url = reverse("citations:export_entity", args=[world["holding"].uuid, "ftm"])
    schemas = [json.loads(line)["schema"] for line in client.get(url).content.decode().splitlines()]
    assert schemas.count("Ownership") == 1 and "Sanction" not in schemas          # depth 1
    schemas = [json.loads(line)["schema"] for line in client.get(url, {"depth": 2}).content.decode().splitlines()]
    assert "Sanction" in schemas                                                  # vendor's ban, two hops away
    assert client.get(url, {"depth": 5}).status_code == 400


def test_export_needs_a_query(client):
    assert client.get(reverse("citations:export_search", args=["csv"])).status_code == 400
