"""Ownership chains answered by Neo4j: up to the ultimate owner, shares, effective share,
state ownership, unknown intermediates, cycles; and the tree of subsidiaries."""
import pytest
from django.urls import reverse

from graph import queries

pytestmark = pytest.mark.django_db


def test_nuctechs_chain_reaches_the_chinese_state_through_an_unknown_intermediate(client, casestudy,
                                                                                   django_assert_max_num_queries):
    nuctech = casestudy["nuctech"]
    with django_assert_max_num_queries(5):
        response = client.get(reverse("browse:ownership", args=[nuctech.uuid]))
    chains = response.context["up"]["chains"]
    assert len(chains) == 1
    chain = chains[0]
    assert [s["owner"]["name"] for s in chain["steps"]] == ["China National Nuclear Corporation", "China"]
    assert chain["ultimate"] and chain["state"] and chain["effective_share"] is None
    assert chain["steps"][0]["unknown_intermediate"] is True
    html = response.content.decode()
    assert 'data-testid="unknown-intermediate"' in html and "Ultimate owner" in html and "State" in html
    assert "Radio Free Europe" in html  # each step's source
    # Downward from China: CNNC, then Nuctech (through the unknown intermediate).
    tree = client.get(reverse("browse:ownership", args=[casestudy["china"].uuid])).context["down"]["children"]
    assert tree[0]["node"]["name"] == "China National Nuclear Corporation"
    assert tree[0]["children"][0]["node"]["name"] == "Nuctech" and tree[0]["children"][0]["unknown_intermediate"]


def test_effective_share_multiplies_known_shares_and_cycles_end(publish, graph):
    state = publish.entity("Republic of Testland", kind="country", iso_code="FR")
    hold = publish.entity("Acme Holding")
    mid = publish.entity("Acme Mid")
    vendor = publish.entity("Acme Scanners Ltd")
    publish.record(state, hold, kind="ownership", share_pct=100)
    publish.record(hold, mid, kind="ownership", share_pct=60)
    publish.record(mid, vendor, kind="ownership", share_pct=50)
    loop_a, loop_b = publish.entity("Loop A"), publish.entity("Loop B")
    publish.record(loop_a, vendor, kind="ownership", share_pct=10)
    publish.record(loop_b, loop_a, kind="ownership", share_pct=100)
    publish.record(loop_a, loop_b, kind="ownership", share_pct=100)
    publish.drain()

    result = queries.ownership_chains(str(vendor.uuid))
    by_top = {c["top"]["name"]: c for c in result["chains"]}
    assert by_top["Republic of Testland"]["effective_share"] == pytest.approx(30.0)
    assert by_top["Republic of Testland"]["ultimate"] and by_top["Republic of Testland"]["state"]
    cyclic = [c for c in result["chains"] if c["ends_in_cycle"]]
    assert cyclic and cyclic[0]["effective_share"] is None
    assert [s["owner"]["name"] for s in cyclic[0]["steps"]] == ["Loop A", "Loop B", "Loop A"]
    tree = queries.ownership_tree(str(loop_a.uuid))
    assert {c["node"]["name"] for c in tree["children"]} == {"Acme Scanners Ltd", "Loop B"}
    loop_b_child = next(c for c in tree["children"] if c["node"]["name"] == "Loop B")
    assert loop_b_child["children"][0]["cycle"] is True


def test_ended_ownership_is_not_current(publish, graph):
    old, new = publish.entity("Old Owner"), publish.entity("New Owner")
    vendor = publish.entity("Acme Scanners Ltd")
    publish.record(old, vendor, kind="ownership", start="2010", end="2019-06", status="ended")
    publish.record(new, vendor, kind="ownership", start="2019-07")
    publish.drain()
    tops = lambda as_of: {c["top"]["name"] for c in queries.ownership_chains(str(vendor.uuid), as_of=as_of)["chains"]}
    assert tops(None) == {"Old Owner", "New Owner"}
    assert tops("2015-01-01") == {"Old Owner"}
    assert tops("2019-06-30") == {"Old Owner"}  # an end of June 2019 covers the whole month
    assert tops("2019-07-01") == {"New Owner"}
    assert tops("2009-12-31") == set()
