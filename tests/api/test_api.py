"""The JSON API: published data, pagination, graph-backed endpoints, schema, throttling, writes."""
import json

import pytest

from apps.api.throttling import AnonThrottle
from apps.sync.services import outbox_drain
from tests.factories import make_entity, make_published_record, make_record

pytestmark = pytest.mark.django_db


@pytest.fixture
def chain():
    state = make_entity("China", kind="country", iso_code="CN")
    parent = make_entity("CNNC", country="CN")
    vendor = make_entity("Nuctech", country="CN")
    border = make_entity("Gradina", kind="site", country="RS")
    r1 = make_published_record(state, parent, kind="ownership", quote="Acme Holding owns 60% of Acme Scanners Ltd.")
    r2 = make_published_record(parent, vendor, kind="ownership", share_pct=60,
                               quote="Acme Holding owns 60% of Acme Scanners Ltd.")
    r3 = make_published_record(vendor, border, kind="deployment", status="active", start="2023")
    make_record(vendor, make_entity("Hidden Draft Ltd"), kind="contract")
    return {"state": state, "parent": parent, "vendor": vendor, "border": border, "records": [r1, r2, r3]}


def test_lists_are_paginated_and_public_lists_hold_published_data_only(chain, client):
    body = client.get("/api/entities/", {"page_size": 2}).json()
    assert body["count"] == 4 and len(body["results"]) == 2 and body["next"]
    names = {e["name"] for e in client.get("/api/entities/").json()["results"]}
    assert "Hidden Draft Ltd" not in names
    assert client.get("/api/records/").json()["count"] == 3
    assert client.get("/api/entities/", {"kind": "site"}).json()["results"][0]["name"] == "Gradina"


def test_a_record_carries_its_citations_evidence_and_permalink(chain, client):
    record = chain["records"][1]
    body = client.get(f"/api/records/{record.uuid}/").json()
    assert body["share_pct"] == "60.000" and body["subject"]["name"] == "CNNC"
    assert body["evidence"]["level"] == "reported"
    assert body["citations"][0]["quote"] == "Acme Holding owns 60% of Acme Scanners Ltd."
    assert body["permalink"] == f"http://testserver/records/{record.uuid}/"


def test_entity_detail_records_and_sources(chain, client):
    vendor = chain["vendor"]
    assert client.get(f"/api/entities/{vendor.uuid}/").json()["name"] == "Nuctech"
    assert client.get(f"/api/entities/{vendor.uuid}/records/").json()["count"] == 2
    source_uuid = client.get(f"/api/records/{chain['records'][2].uuid}/").json()["citations"][0]["source"]["uuid"]
    source = client.get(f"/api/sources/{source_uuid}/").json()
    assert [r["title"] for r in source["records"]] == [chain["records"][2].title]


def test_ownership_deployments_and_paths_come_from_the_graph(chain, graph, client):
    outbox_drain()
    vendor, state = chain["vendor"], chain["state"]
    up = client.get(f"/api/entities/{vendor.uuid}/ownership/").json()
    assert up["count"] == 1, "one whole chain, as the ownership page shows it (no partial sub-chains)"
    top = [row for row in up["results"] if row["ultimate"]][0]
    assert [n["name"] for n in top["nodes"]] == ["China", "CNNC", "Nuctech"]
    assert top["state"] is True and top["rels"][1]["share_pct"] == 60.0
    down = client.get(f"/api/entities/{state.uuid}/ownership/", {"direction": "down"}).json()
    assert down["count"] == 2
    deployments = client.get(f"/api/entities/{vendor.uuid}/deployments/").json()
    assert [(d["country"], d["map_status"], d["rel"]["status"]) for d in deployments["results"]] == [
        ("RS", "deployed", "active")]
    paths = client.get("/api/paths/", {"from": str(state.uuid), "to": str(chain["border"].uuid)}).json()
    assert [n["name"] for n in paths["results"][0]["nodes"]] == ["China", "CNNC", "Nuctech", "Gradina"]


def test_bad_query_parameters_say_which_and_why(chain, client):
    vendor = chain["vendor"]
    body = client.get(f"/api/entities/{vendor.uuid}/ownership/", {"as_of": "2023-13"}).json()
    assert "month must be 01-12" in body["as_of"][0]
    body = client.get("/api/paths/", {"from": "nope", "kinds": "friendship"}).json()
    assert set(body) == {"from", "to", "kinds"}


def test_the_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/", {"format": "json"}).json()
    assert schema["openapi"].startswith("3.")
    for path in ("/api/entities/", "/api/records/{uuid}/", "/api/entities/{uuid}/ownership/", "/api/paths/",
                 "/api/sources/{uuid}/", "/api/entities/{uuid}/deployments/"):
        assert path in schema["paths"], path
    assert b"/api/paths/" in client.get("/api/docs/").content


def test_anonymous_clients_are_rate_limited(redis_server, client, monkeypatch):
    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "1000/min"})
    codes = [client.get("/api/entities/").status_code for _ in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_a_cache_outage_does_not_take_the_api_down(client, settings, monkeypatch):
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0"}}
    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {"anon": "1/min", "user": "1000/min"})
    assert [client.get("/api/entities/").status_code for _ in range(2)] == [200, 200]


@pytest.mark.parametrize("who,status", [(None, 403), ("dave", 403), ("alice", 201), ("bob", 201), ("charlie", 201)])
def test_writes_need_a_curator(who, status, as_user, request):
    a, b = make_entity("A Ltd"), make_entity("B Ltd")
    client = as_user(request.getfixturevalue(who) if who else None)
    response = client.post("/api/records/", json.dumps({"kind": "contract", "subject": str(a.uuid),
                                                        "object": str(b.uuid)}), content_type="application/json")
    assert response.status_code == status
    if status == 201:
        assert response.json()["workflow"] == "draft"


@pytest.mark.parametrize("who,status", [("alice", 403), ("bob", 200), ("charlie", 200)])
def test_publishing_through_the_api_needs_a_reviewer(who, status, as_user, request):
    from tests.factories import cite

    record = make_record(make_entity("A Ltd", workflow="published"), make_entity("B Ltd", workflow="published"))
    cite(record, "Acme Holding owns 60% of Acme Scanners Ltd.")
    response = as_user(request.getfixturevalue(who)).post(f"/api/records/{record.uuid}/workflow/",
                                                          {"to": "published"})
    assert response.status_code == status
    record.refresh_from_db()
    assert (record.workflow == "published") == (status == 200)
