"""A runaway traversal is stopped by Neo4j and answered with "try fewer steps": 503 in the API,
a page saying what to do; the embedded server also carries a transaction timeout of its own."""
import re

import pytest

from apps.sync.services import outbox_drain
from graph.connection import run
from tests.factories import make_entity, make_published_record

pytestmark = pytest.mark.django_db


def dense_owners_above(uid: str, *, layers: int = 12, width: int = 6) -> None:
    """Above entity `uid`, `layers` layers of `width` published companies, each owning every
    company of the layer below: width**layers ownership chains (here 6**12, two billion) reach
    `uid`, so enumerating them does not end in any useful time."""
    visible = {"status": "published", "workflow": "published"}
    run("UNWIND range(0, $layers - 1) AS l UNWIND range(0, $width - 1) AS i "
        "CREATE (n:Entity {uid: 'dense-' + l + '-' + i, name: 'Dense ' + l + '-' + i, kind: 'company'}) "
        "SET n += $visible", {"layers": layers, "width": width, "visible": visible})
    run("MATCH (a:Entity), (b:Entity) WHERE a.uid STARTS WITH 'dense-' AND b.uid STARTS WITH 'dense-' "
        "AND toInteger(split(a.uid, '-')[1]) = toInteger(split(b.uid, '-')[1]) + 1 "
        "CREATE (a)-[:OWNS {uid: randomUUID(), kind: 'ownership', workflow: 'published'}]->(b)")
    run("MATCH (a:Entity), (t:Entity {uid: $uid}) WHERE a.uid STARTS WITH 'dense-0-' "
        "CREATE (a)-[:OWNS {uid: randomUUID(), kind: 'ownership', workflow: 'published'}]->(t)", {"uid": uid})


@pytest.fixture
def buried(graph, settings):
    """A published company under the dense ownership mesh, and a three-second query limit
    (long enough for any reasonable query on a busy test machine)."""
    settings.NEO4J_QUERY_TIMEOUT = 3
    target, below = make_entity("Buried Ltd"), make_entity("Below Ltd")
    make_published_record(target, below, kind="ownership", share_pct=100)
    outbox_drain()
    dense_owners_above(str(target.uuid))
    return target


def test_it_answers_503_with_try_fewer_steps_when_an_api_traversal_runs_away(buried, client):
    response = client.get(f"/api/entities/{buried.uuid}/ownership/")
    assert response.status_code == 503
    assert response.json()["detail"].startswith("This query took too long and was stopped: try fewer steps")
    # The graph and the worker are fine: the next, reasonable question is answered.
    down = client.get(f"/api/entities/{buried.uuid}/ownership/", {"direction": "down"})
    assert (down.status_code, down.json().get("count")) == (200, 1), down.json()


def test_it_shows_a_page_saying_what_to_do_when_a_page_traversal_runs_away(buried, client):
    response = client.get(f"/entities/{buried.uuid}/ownership/")
    assert response.status_code == 503
    page = response.content.decode()
    assert "This query took too long" in page and "Try fewer steps" in page


def _seconds(duration: str) -> float:
    """'2m' / '120s' / '1m30s' / '500ms' -> seconds."""
    units = {"ms": 0.001, "s": 1, "m": 60, "h": 3600}
    return sum(float(n) * units[u] for n, u in re.findall(r"(\d+)(ms|s|m|h)", duration))


def test_the_embedded_server_stops_any_transaction_longer_than_its_timeout(neo4j_server, settings):
    rows = run("SHOW SETTINGS YIELD name, value WHERE name = 'db.transaction.timeout' RETURN value")
    assert len(rows) == 1 and _seconds(rows[0]["value"]) == _seconds(settings.NEO4J_TX_TIMEOUT) > 0


def test_the_api_path_finder_takes_fewer_steps_when_asked(client):
    a, b = make_entity("A Ltd"), make_entity("B Ltd")
    make_published_record(a, b)
    body = client.get("/api/paths/", {"from": str(a.uuid), "to": str(b.uuid), "max_hops": "9"}).json()
    assert body == {"max_hops": ["A whole number of steps from 1 to 6."]}
