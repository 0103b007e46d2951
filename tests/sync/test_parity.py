"""graph_check's comparison finds every kind of difference between the store and the graph."""
import pytest

from apps.sync.parity import parity_check
from apps.sync.services import outbox_drain
from graph import sync as graph_sync
from graph.connection import run
from tests.factories import make_entity, make_record

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.fixture
def synced(graph):
    a, b, c = make_entity("Parity Owner Ltd"), make_entity("Parity Target Ltd"), make_entity("Parity Third Ltd")
    record = make_record(a, b, kind="ownership")
    outbox_drain()
    assert parity_check().ok
    return a, b, c, record


def test_it_lists_missing_extra_newer_and_rekinded_objects(synced):
    a, b, c, record = synced
    run("MATCH (n:Entity {uid: $uid}) SET n.version = 7", {"uid": str(a.uuid)})
    run("MATCH (n:Entity {uid: $uid}) SET n.kind = 'person'", {"uid": str(b.uuid)})
    run("MATCH (n:Entity {uid: $uid}) DETACH DELETE n", {"uid": str(c.uuid)})
    run("MATCH ()-[r:OWNS {uid: $uid}]->() DELETE r", {"uid": str(record.uuid)})
    run("CREATE (:Entity:Company {uid: 'zz-not-in-the-store', kind: 'company', version: 1})")

    report = parity_check()

    assert not report.ok
    assert sorted(report.differences) == sorted([
        f"entity {a.uuid}: store company v1, graph company v7",
        f"entity {b.uuid}: store company v1, graph person v1",
        f"entity {c.uuid} (company v1) missing from the graph",
        "entity zz-not-in-the-store (company v1) in the graph but not in the store",
        f"record {record.uuid} (ownership v1) missing from the graph",
    ])
    assert report.store_hash != report.graph_hash


def test_it_reads_every_object_when_the_graph_is_read_range_by_range(synced, monkeypatch):
    a, b, c, record = synced
    run("CREATE (:Entity:Company {uid: 'zz-not-a-uuid', kind: 'company', version: 2})")
    run("CREATE (:Entity:Company {uid: '', kind: 'company', version: 3})")
    whole = graph_sync.graph_versions()
    monkeypatch.setattr(graph_sync, "_VERSIONS_PER_LIST", 1)  # 256 ranges instead of one
    assert graph_sync.graph_versions() == whole
    entities, records = whole
    assert entities[str(a.uuid)] == ("company", 1) and entities["zz-not-a-uuid"] == ("company", 2)
    assert entities[""] == ("company", 3) and len(entities) == 5
    assert records == {str(record.uuid): ("ownership", 1)}


def test_it_finds_every_difference_when_both_sides_are_compared_in_256_ranges(synced, monkeypatch):
    a, b, c, record = synced
    monkeypatch.setattr(graph_sync, "_VERSIONS_PER_LIST", 1)  # 256 uid ranges, each its own digest
    assert parity_check().ok
    run("MATCH (n:Entity {uid: $uid}) SET n.version = 9", {"uid": str(c.uuid)})
    run("MATCH ()-[r:OWNS {uid: $uid}]->() SET r.kind = 'role'", {"uid": str(record.uuid)})
    run("CREATE (:Entity:Company {uid: 'zz-extra', kind: 'company', version: 1})")

    report = parity_check()

    assert report.differences == [
        "entity zz-extra (company v1) in the graph but not in the store",
        f"entity {c.uuid}: store company v1, graph company v9",
        f"record {record.uuid}: store ownership v1, graph role v1",
    ]
    assert report.graph_counts["records"] == {"role": 1} and report.store_counts["records"] == {"ownership": 1}


def test_it_reports_a_record_that_the_graph_holds_twice(synced):
    a, b, c, record = synced
    run("MATCH (x:Entity {uid: $a}), (y:Entity {uid: $b}) CREATE (x)-[:CONTRACTED {uid: $uid, kind: 'ownership', "
        "version: 1}]->(y)", {"a": str(a.uuid), "b": str(b.uuid), "uid": str(record.uuid)})

    report = parity_check()

    assert report.differences == [f"record {record.uuid} is in the graph 2 times"]
