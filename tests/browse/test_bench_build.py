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
