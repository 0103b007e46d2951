"""The batched, versioned MERGE path against the real Neo4j."""
import pytest

from graph.connection import run
from graph.sync import apply_changes


def entity(uid, version, name="Acme", kind="company", op="upsert"):
    return {"aggregate": "entity", "op": op, "uid": uid, "version": version,
            "payload": {"uid": uid, "kind": kind, "props": {"name": name, "kind": kind}}}


def record(uid, version, s, o, kind="ownership", op="upsert", **props):
    return {"aggregate": "record", "op": op, "uid": uid, "version": version,
            "payload": {"uid": uid, "kind": kind, "s": s, "o": o, "props": {"kind": kind, **props}}}


def test_it_upserts_entities_with_their_kind_label(graph):
    assert apply_changes([entity("e1", 1, "Acme"), entity("e2", 1, "Customs", kind="public_body")]) == {
        "e1": "applied", "e2": "applied"}
    rows = run("MATCH (n:Entity) RETURN n.uid AS uid, labels(n) AS labels, n.name AS name ORDER BY uid")
    assert [(r["uid"], sorted(r["labels"]), r["name"]) for r in rows] == [
        ("e1", ["Company", "Entity"], "Acme"), ("e2", ["Entity", "PublicBody"], "Customs")]


def test_it_is_idempotent(graph):
    changes = [entity("e1", 1), entity("e2", 1), record("r1", 1, "e1", "e2", share_pct=60.0)]
    apply_changes(changes)
    assert apply_changes(changes) == {"e1": "stale", "e2": "stale", "r1": "stale"}
    assert run("MATCH (n:Entity) RETURN count(n) AS n")[0]["n"] == 2
    assert run("MATCH ()-[r:OWNS]->() RETURN count(r) AS n, r.share_pct AS share")[0] == {"n": 1, "share": 60.0}


def test_an_older_update_never_overwrites_a_newer_one(graph):
    apply_changes([entity("e1", 3, "Newest name")])
    assert apply_changes([entity("e1", 2, "Older name")]) == {"e1": "stale"}
    assert run("MATCH (n:Entity {uid: 'e1'}) RETURN n.name AS name, n.version AS v")[0] == {"name": "Newest name", "v": 3}


def test_a_kind_change_swaps_the_label(graph):
    apply_changes([entity("e1", 1, kind="company")])
    apply_changes([entity("e1", 2, kind="organization")])
    labels = run("MATCH (n:Entity {uid: 'e1'}) RETURN labels(n) AS l")[0]["l"]
    assert sorted(labels) == ["Entity", "Organization"]


def test_a_record_moves_when_its_endpoints_change(graph):
    apply_changes([entity("a", 1), entity("b", 1), entity("c", 1), record("r", 1, "a", "b")])
    apply_changes([record("r", 2, "a", "c")])
    rows = run("MATCH (x)-[r:OWNS {uid: 'r'}]->(y) RETURN x.uid AS x, y.uid AS y, r.version AS v")
    assert rows == [{"x": "a", "y": "c", "v": 2}]


def test_a_deletion_wins_over_a_late_older_update(graph):
    apply_changes([entity("a", 1), entity("b", 1), record("r", 1, "a", "b")])
    assert apply_changes([record("r", 2, "a", "b", op="delete")]) == {"r": "applied"}
    assert apply_changes([record("r", 1, "a", "b")]) == {"r": "stale"}
    assert run("MATCH ()-[r:OWNS]->() RETURN count(r) AS n")[0]["n"] == 0
    assert apply_changes([entity("a", 2, op="delete")]) == {"a": "applied"}
    assert apply_changes([entity("a", 1)]) == {"a": "stale"}
    assert run("MATCH (n:Entity {uid: 'a'}) RETURN count(n) AS n")[0]["n"] == 0


def test_a_record_whose_entity_is_not_there_yet_waits(graph):
    apply_changes([entity("a", 1)])
    assert apply_changes([record("r", 1, "a", "nowhere")]) == {"r": "missing"}
    assert run("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"] == 0


def test_the_uid_of_a_relationship_is_unique(graph):
    from graph.connection import GraphError

    apply_changes([entity("a", 1), entity("b", 1), record("r", 1, "a", "b")])
    with pytest.raises(GraphError):
        run("MATCH (a:Entity {uid:'a'}), (b:Entity {uid:'b'}) CREATE (a)-[:OWNS {uid: 'r'}]->(b)")


def test_it_reports_the_version_each_applied_change_replaced(graph):
    seen = {}
    apply_changes([entity("a", 1), entity("b", 1), record("r", 1, "a", "b")], before=seen)
    assert seen == {"a": 0, "b": 0, "r": 0}
    seen = {}
    apply_changes([entity("a", 3), record("r", 2, "a", "b")], before=seen)
    assert seen == {"a": 1, "r": 1}
    seen = {}
    assert apply_changes([entity("a", 2), record("r", 3, "a", "b", op="delete")], before=seen) == {
        "a": "stale", "r": "applied"}
    assert seen == {"r": 2}  # nothing for the stale change
    seen = {}
    apply_changes([entity("b", 2, op="delete")], before=seen)
    assert seen == {"b": 1}


def test_a_new_object_is_created_once_and_a_redelivery_is_stale(graph):
    # A batch of version-1 objects (an import); delivering it again finds them and reports
    # them stale, never a second node or relationship.
    batch = [entity("n1", 1), entity("n2", 1), record("nr", 1, "n1", "n2")]
    before: dict = {}
    assert apply_changes(batch, before=before) == {"n1": "applied", "n2": "applied", "nr": "applied"}
    assert before == {"n1": 0, "n2": 0, "nr": 0}
    assert apply_changes(batch) == {"n1": "stale", "n2": "stale", "nr": "stale"}
    assert run("MATCH (n:Entity) RETURN count(n) AS n")[0]["n"] == 2
    assert run("MATCH ()-[r:OWNS]->() RETURN count(r) AS n")[0]["n"] == 1


def test_a_new_record_without_its_entities_waits_and_a_deleted_one_stays_deleted(graph):
    apply_changes([entity("d1", 1), entity("d2", 1)])
    assert apply_changes([record("late", 1, "d1", "missing")]) == {"late": "missing"}
    assert apply_changes([record("gone", 2, "d1", "d2", op="delete")]) == {"gone": "applied"}
    assert apply_changes([record("gone", 1, "d1", "d2")]) == {"gone": "stale"}
    assert run("MATCH ()-[r]->() RETURN count(r) AS n")[0]["n"] == 0


def test_an_update_that_clears_a_field_or_empties_a_list_removes_the_property(graph):
    """Rows travel as lists of every declared property: a value that is gone (None) or an
    empty list must leave no property behind, not a stale one."""
    full = entity("e1", 1)
    full["payload"]["props"].update(country="PL", aliases=["Acme Sp. z o.o."], state_owned=True)
    apply_changes([full, entity("e2", 1), record("r1", 1, "e1", "e2", share_pct=60.0, sources=["s1"], title="T")])
    cleared = entity("e1", 2)
    cleared["payload"]["props"].update(country=None, aliases=[], state_owned=False)
    apply_changes([cleared, record("r1", 2, "e1", "e2", share_pct=None, sources=[], title="")])
    node = run("MATCH (n:Entity {uid: 'e1'}) RETURN properties(n) AS p")[0]["p"]
    assert node == {"uid": "e1", "version": 2, "name": "Acme", "kind": "company", "state_owned": False}
    rel = run("MATCH ()-[r:OWNS {uid: 'r1'}]->() RETURN properties(r) AS p")[0]["p"]
    assert rel == {"uid": "r1", "version": 2, "kind": "ownership", "title": ""}


def test_it_refuses_a_payload_field_the_graph_does_not_declare(graph):
    change = entity("e1", 1)
    change["payload"]["props"]["nickname"] = "Ace"
    with pytest.raises(ValueError, match=r"entity e1: payload field\(s\) \['nickname'\] are not declared"):
        apply_changes([change])
    assert run("MATCH (n:Entity) RETURN count(n) AS n")[0]["n"] == 0
