"""The home page proves the chain: counts on both sides and the sync lag."""
import re

import pytest

from apps.sync.services import outbox_drain
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.django_db


def _cell(html: str, testid: str) -> str:
    return re.search(rf'data-testid="{testid}">([^<]*)<', html).group(1).strip()


def test_it_shows_equal_counts_once_the_graph_has_caught_up(client, graph):
    a, b = make_entity("Acme Scanners Ltd"), make_entity("Customs", kind="public_body")
    make_record(b, a, kind="contract")
    html = client.get("/").content.decode()
    assert _cell(html, "entities-store") == "2" and _cell(html, "entities-graph") == "0"
    assert _cell(html, "pending") == "3"
    assert "catching up" in html

    outbox_drain()
    html = client.get("/").content.decode()
    assert _cell(html, "entities-store") == _cell(html, "entities-graph") == "2"
    assert _cell(html, "records-store") == _cell(html, "records-graph") == "1"
    assert _cell(html, "pending") == "0"
    assert "agrees with the store of record" in html


def test_it_still_answers_when_neo4j_is_unreachable(client, settings):
    from graph.connection import configure

    configure("bolt://neo4j:neo4j@127.0.0.1:1")  # nothing listens there
    try:
        make_entity("Offline Ltd")
        response = client.get("/")
    finally:
        configure()
    assert response.status_code == 200
    html = response.content.decode()
    assert "Neo4j is unavailable" in html
    assert _cell(html, "entities-store") == "1"
