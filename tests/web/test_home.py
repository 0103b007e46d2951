"""The home page for people (search, vendors, map, latest records, sources); the sync panel
at /ops/ for staff; /healthz for load balancers."""
import json
import re

import pytest
from django.contrib.auth.models import User

from apps.sync.services import outbox_drain
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.django_db


def _cell(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}">([^<]*)<', html).group(1).strip()


@pytest.fixture
def staff_client(client):
    user = User.objects.create_user("ops", password="x", is_staff=True)
    client.force_login(user)
    return client


def test_the_home_page_leads_to_vendors_countries_records_and_sources(client, casestudy, django_assert_max_num_queries):
    # The vendors and the map come from the overview's snapshot (one Neo4j query computes it;
    # here, the first time, for the request: one SQL query finds the graph small enough); the
    # latest records take one query, the latest sources two (the newest, then the public ones).
    with django_assert_max_num_queries(4):
        response = client.get("/")
    assert response.status_code == 200
    html = response.content.decode()
    assert 'role="search"' in html and html.index('role="search"') < html.index('id="vendors-h"')
    nuctech = casestudy["nuctech"]
    vendors = {v["node"]["name"]: v for v in response.context["vendors"]}
    assert f'/entities/{nuctech.uuid}/' in html, "one click to the vendor"
    assert {"LT", "BE", "US"} <= set(vendors["Nuctech"]["by_status"]["banned"])
    assert "RS" in vendors["Nuctech"]["by_status"]["deployed"]
    assert "GE" in vendors["Nuctech"]["by_status"]["contracted"]
    world = json.loads(html.split('id="deployment-map-data" type="application/json">')[1].split("</script>")[0])
    assert world["LT"]["status"] == "banned" and "Nuctech" in world["LT"]["label"]
    assert len(response.context["records"]) == 8
    assert "Radio Free Europe" in html, "the sources it draws on, with their dates"
    assert "Graph sync" not in html and "outbox" not in html


def test_the_sync_panel_is_for_staff_only(client):
    assert client.get("/ops/").status_code == 302  # to the login page
    user = User.objects.create_user("reader", password="x")
    client.force_login(user)
    assert client.get("/ops/").status_code == 302


def test_ops_shows_equal_counts_once_the_graph_has_caught_up(staff_client, graph):
    a, b = make_entity("Acme Scanners Ltd"), make_entity("Customs", kind="public_body")
    make_record(b, a, kind="contract")
    html = staff_client.get("/ops/").content.decode()
    assert _cell(html, "entities-store") == "2" and _cell(html, "entities-graph") == "0"
    assert _cell(html, "pending") == "3"
    assert "catching up" in html

    outbox_drain()
    html = staff_client.get("/ops/").content.decode()
    assert _cell(html, "entities-store") == _cell(html, "entities-graph") == "2"
    assert _cell(html, "records-store") == _cell(html, "records-graph") == "1"
    assert _cell(html, "pending") == "0"
    assert "agrees with the store of record" in html


def test_pages_still_answer_when_neo4j_is_unreachable(staff_client, redis_server):
    from graph.connection import configure

    from django.core.cache import cache

    cache.clear()  # no snapshot of the vendors yet (with one, the home page shows it, as of its time)
    configure("bolt://neo4j:neo4j@127.0.0.1:1")  # nothing listens there
    try:
        make_entity("Offline Ltd")
        ops = staff_client.get("/ops/")
        home = staff_client.get("/")
        health = staff_client.get("/healthz")
    finally:
        configure()
    assert ops.status_code == 200
    html = ops.content.decode()
    assert "Neo4j is unavailable" in html
    assert _cell(html, "entities-store") == "1"
    assert home.status_code == 200 and "The graph is unavailable" in home.content.decode()
    assert health.status_code == 503
    body = health.json()
    assert body["ok"] is False and body["neo4j"]["ok"] is False and body["redis"]["ok"] is True


def test_healthz_answers_json_for_a_load_balancer(client, graph, redis_server):
    make_entity("Acme Scanners Ltd")
    response = client.get("/healthz")
    assert response.status_code == 200 and response["Content-Type"] == "application/json"
    body = response.json()
    assert body["ok"] is True and body["neo4j"]["ok"] and body["redis"]["ok"]
    assert body["outbox"]["pending"] == 1 and body["outbox"]["lag_seconds"] >= 0
    outbox_drain()
    assert client.get("/healthz").json()["outbox"]["pending"] == 0
