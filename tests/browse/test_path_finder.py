"""The path finder's search (graph.queries.paths_between): the same shortest paths as
Neo4j's allShortestPaths under the whole visibility rule, hubs or not."""
import random

import pytest
from django.db.models import Q
from django.urls import reverse

from apps.browse.bench import build_synthetic
from apps.catalog.models import Entity, Record
from graph import queries
from graph.connection import run_read
from graph.models import REL_TYPES

pytestmark = pytest.mark.django_db


def all_shortest_paths(a, b, *, hops, as_of=None):
    """Neo4j's own allShortestPaths under the whole rule (the reference)."""
    rows = run_read(queries.SHORTEST_PATHS_BOUNDED[hops], {"a": a, "b": b, "types": list(REL_TYPES.values()),
                                                           "limit": 100000, **queries._visibility(as_of, True)})
    return {tuple(r["uid"] for r in row["rels"]) for row in rows}


@pytest.mark.parametrize("first_step_max, hub_handover", [(1000, 10_000), (5, 10_000), (5, 40)])
def test_it_finds_the_same_shortest_paths_as_all_shortest_paths_through_and_around_hubs(graph, monkeypatch,
                                                                                       first_step_max, hub_handover):
    # Low bounds make this small graph's hubs count as hubs: the search's own steps then do
    # what the first steps read with the ends otherwise do, and with both sides holding a
    # hub it joins the frontiers directly or hands over to allShortestPaths.
    monkeypatch.setattr(queries, "FIRST_STEP_MAX", first_step_max)
    monkeypatch.setattr(queries, "HUB_HANDOVER", hub_handover)
    ran = []
    monkeypatch.setattr(queries, "run", lambda query, params=None: ran.append(query) or run_read(query, params))
    report = build_synthetic(entities=400, records=1400, hubs=3, seed=13, batch=200)
    rng = random.Random(3)
    hubs = [str(h) for h in report.hubs]
    uids = [str(u) for u in Entity.objects.order_by("id").values_list("uuid", flat=True)]
    # Ends of hub contracts (their shortest paths run through the hub) and random pairs.
    near_hubs = [str(s if str(o) in hubs else o) for s, o in Record.objects.filter(
        Q(object__uuid__in=hubs) | Q(subject__uuid__in=hubs)).values_list("subject__uuid", "object__uuid")[:60]]
    pairs = list(zip(near_hubs[::2], near_hubs[1::2])) + [tuple(rng.sample(uids, 2)) for _ in range(30)]
    pairs += [(hubs[0], hubs[1]), (hubs[1], rng.choice(uids))]
    found = 0
    for a, b in pairs:
        for hops in (2, 4):
            mine = {tuple(r["uid"] for r in row["rels"]) for row in queries.paths_between(a, b, max_hops=hops, limit=100000)}
            assert mine == all_shortest_paths(a, b, hops=hops), (a, b, hops)
            found += bool(mine)
    assert found >= 30
    assert queries.PATH_STEP_FAST in ran
    if hub_handover < 100:
        assert set(ran) & set(queries.SHORTEST_PATHS_FAST.values())


def test_a_longer_visible_path_is_found_when_the_shorter_names_an_unpublished_site(client, publish, graph):
    buyer, vendor = publish.entity("Ministry of the Interior", kind="public_body"), publish.entity("Acme Scanners Ltd")
    bank, agent = publish.entity("Export Bank"), publish.entity("Acme Agent Ltd")
    secret_site = Entity(name="Undisclosed base", kind="site")
    secret_site.save()
    publish.record(buyer, vendor, kind="contract", title="Direct contract", site=secret_site)
    publish.record(bank, buyer, kind="loan", title="Loan to the ministry")
    publish.record(bank, agent, kind="contract", title="Agent's contract")
    publish.record(agent, vendor, kind="role", title="Agent of Acme")
    publish.drain()
    page = client.get(reverse("browse:paths"), {"from": buyer.uuid, "to": vendor.uuid})
    html = page.content.decode()
    assert [[n["name"] for n in p["nodes"]] for p in page.context["paths"]] == [
        ["Ministry of the Interior", "Export Bank", "Acme Agent Ltd", "Acme Scanners Ltd"]]
    assert "Direct contract" not in html and "Undisclosed base" not in html
    secret_site.workflow = "published"
    secret_site.save()
    publish.drain()
    page = client.get(reverse("browse:paths"), {"from": buyer.uuid, "to": vendor.uuid})
    assert [[n["name"] for n in p["nodes"]] for p in page.context["paths"]] == [
        ["Ministry of the Interior", "Acme Scanners Ltd"]]
