"""The connections explorer (page, JSON, record cards) and the path finder."""
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_explorer_page_and_json_give_the_neighbourhood_with_filters(client, casestudy,
                                                                          django_assert_max_num_queries):
    nuctech = casestudy["nuctech"]
    with django_assert_max_num_queries(4):
        page = client.get(reverse("browse:connections", args=[nuctech.uuid]))
    data = page.context["graph_data"]
    assert data["center"] == str(nuctech.uuid) and len(data["edges"]) == data["total"] > 40
    assert 'id="explorer-data" type="application/json"' in page.content.decode()

    url = reverse("browse:connections_json", args=[nuctech.uuid])
    bans = client.get(url, {"kind": "ban"}).json()
    assert {e["kind"] for e in bans["edges"]} == {"ban"} and len(bans["edges"]) == 3  # US, Lithuania, Belgium (Canada's unspecified "restrictions" are a fact, not a ban)
    dated = client.get(url, {"from": "2023-01-01", "to": "2023-12-31", "kind": ["contract", "ban"]}).json()
    assert dated["edges"] and all(not e["start"] or e["start"][:4] <= "2023" for e in dated["edges"])
    assert all(not e["end"] or e["end"] >= "2023" for e in dated["edges"])
    assert client.get(reverse("browse:connections_json", args=["00000000-0000-0000-0000-000000000000"])).status_code == 404


def test_clicking_an_edge_shows_its_citations(client, casestudy, django_assert_max_num_queries):
    loan = casestudy["nuctech"].records_party.get(kind="loan")
    with django_assert_max_num_queries(4):
        card = client.get(reverse("browse:record_card", args=[loan.uuid]))
    html = card.content.decode()
    assert "Radio Free Europe" in html and "<blockquote>" in html and f"/records/{loan.uuid}/" in html


def test_the_path_finder_links_the_lending_bank_to_nuctech_each_hop_cited(client, casestudy,
                                                                            django_assert_max_num_queries):
    bank, nuctech = casestudy["chinese-export-import-bank"], casestudy["nuctech"]
    with django_assert_max_num_queries(10):
        response = client.get(reverse("browse:paths"), {"from": bank.uuid, "to": nuctech.uuid})
    paths = response.context["paths"]
    assert paths and all([n["name"] for n in p["nodes"]] == ["Chinese Export-import Bank", "Serbia", "Nuctech"]
                         for p in paths)
    assert {p["hops"][0]["record"].kind for p in paths} == {"loan"}
    assert all(h["record"].citations.all() for p in paths for h in p["hops"])
    # By names (typed in the form), with a bound that is too short.
    by_name = client.get(reverse("browse:paths"), {"from_q": "export-import bank", "to_q": "Nuotech"})
    assert by_name.context["source"] == bank and by_name.context["target"] == nuctech and by_name.context["paths"]
    short = client.get(reverse("browse:paths"), {"from": bank.uuid, "to": nuctech.uuid, "hops": 1})
    assert short.context["paths"] == [] and "No path of at most 1 step" in short.content.decode()
