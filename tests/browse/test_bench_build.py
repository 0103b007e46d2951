"""The benchmark's synthetic graph (smoke test at a tiny size; the benchmark itself is
`manage.py browse_bench`, not part of the suite)."""
import pytest
from django.urls import reverse

from apps.browse.bench import build_synthetic
from apps.catalog.models import Entity, Record
from graph import queries
from graph.sync import graph_counts

pytestmark = pytest.mark.django_db


def test_it_builds_a_published_graph_with_chains_and_hubs(client, graph):
    report = build_synthetic(entities=300, records=900, hubs=2, seed=7, batch=200)
    assert Entity.objects.count() == 300 and Record.objects.count() == 900
    entities, records = graph_counts()
    assert sum(entities.values()) == 300 and sum(records.values()) == 900
    depths = [max((len(c["steps"]) for c in queries.ownership_chains(uid)["chains"]), default=0)
              for uid in report.chain_bottoms[:50]]
    assert max(depths) >= 3
    hub = Entity.objects.get(uuid=report.hubs[0])
    assert client.get(reverse("browse:entity", args=[hub.uuid])).status_code == 200


def test_it_answers_the_ownership_chain_from_the_store_as_neo4j_does(graph):
    """The benchmark's side-by-side (apps.browse.bench_sql): the recursive CTE over the store
    of record finds the same ownership edges above an entity as the graph query."""
    from apps.browse.bench_sql import ownership_up_edges_sql

    report = build_synthetic(entities=300, records=900, hubs=2, seed=11, batch=200)
    compared = 0
    for uid in report.chain_bottoms[:40]:
        from_graph = {(row["rel"]["uid"], row["owner"]["uid"], row["owned"]["uid"])
                      for row in queries.ownership_edges(uid)}
        from_store = set(ownership_up_edges_sql(uid))
        assert from_store == from_graph, uid
        compared += bool(from_graph)
    assert compared >= 10


def test_it_finds_the_same_shortest_paths_in_the_store_as_neo4j(graph):
    from apps.browse.bench_sql import shortest_paths_sql

    report = build_synthetic(entities=300, records=600, hubs=2, seed=5, batch=200)
    uids = [str(u) for u in Entity.objects.order_by("id").values_list("uuid", flat=True)[10:60]]
    found = 0
    for a, b in zip(uids, reversed(uids)):
        if a == b:
            continue
        from_graph = {tuple(n["uid"] for n in row["nodes"]) for row in queries.paths_between(a, b, max_hops=4, limit=1000)}
        from_store = {tuple(p) for p in shortest_paths_sql(a, b, max_hops=4, limit=1000)}
        assert from_store == from_graph, (a, b)
        found += bool(from_graph)
    assert found >= 10
    assert report.hubs
