"""Exposure: who buys from a supplier a state controls or someone banned, and a vendor's
contracts signed after a ban -- answered by Neo4j on the case study, with citations."""
import pytest
from django.urls import reverse

from apps.catalog.selectors import exposure

pytestmark = pytest.mark.django_db


def _serbia(client, **params):
    response = client.get(reverse("browse:country_exposure", args=["RS"]), params)
    assert response.status_code == 200
    return response


def test_serbias_nuctech_contracts_and_loan_reach_the_chinese_state_and_meet_three_bans(
        client, casestudy, django_assert_max_num_queries):
    with django_assert_max_num_queries(5):  # the citations of every hop in one batch
        response = _serbia(client)
    rows = response.context["rows"]
    nuctech = str(casestudy["nuctech"].uuid)
    ours = [r for r in rows if r["supplier"]["uid"] == nuctech]
    keys = {r["rel"]["kind"] for r in ours}
    assert {"contract", "loan"} <= keys
    titles = {r["rel"]["uid"] for r in ours}
    assert str(_record_uuid("loan-cexim-serbia")) in titles
    assert str(_record_uuid("con-serbia-container-vehicle-inspection")) in titles
    assert str(_record_uuid("con-serbia-first-purchase-2009")) in titles
    for row in ours:
        assert row["state"] and "state" in row["reasons"] and "banned" in row["reasons"]
        chain = row["chains"][0]
        assert [s["owner"]["name"] for s in chain["steps"]] == ["China National Nuclear Corporation", "China"]
        assert chain["steps"][0]["unknown_intermediate"] is True
        authorities = {b["authority"]["country"] for b in row["bans"]}
        assert {"US", "LT", "BE"} <= authorities
        # every hop is cited: the supply record, each ownership step, each ban
        hops = [row["rel"], *(s["rel"] for s in chain["steps"]), *(b["rel"] for b in row["bans"])]
        assert all(h["citations"] and all(c["quotes"] and all(c["quotes"]) for c in h["citations"]) for h in hops)
        sources = [c["source"] for h in hops for c in h["citations"]]
        assert len(sources) == len({(h["uid"], c["source"]) for h in hops for c in h["citations"]}), "each source once per hop"
    # Huawei's Safe City contract is bought in Serbia but no chain or ban is published.
    assert all(r["supplier"]["name"] != "Huawei" for r in rows)
    assert response.context["not_exposed"] >= 1
    html = response.content.decode()
    assert "China National Nuclear Corporation" in html and "Unknown intermediate" in html
    assert "Lithuania" in html and "United States" in html and "<blockquote>" in html


def _record_uuid(key):
    from apps.catalog.models import Record

    return Record.objects.get(key=key).uuid


def test_as_of_2020_serbia_meets_no_lithuanian_ban_yet(client, casestudy):
    rows = _serbia(client, as_of="2020-06-01").context["rows"]
    nuctech = [r for r in rows if r["supplier"]["name"] == "Nuctech"]
    assert nuctech, "the chain to China and the US ban of 2020 already stood"
    authorities = {b["authority"]["country"] for r in nuctech for b in r["bans"]}
    assert "LT" not in authorities and "BE" not in authorities


def test_a_buyer_page_shows_the_same_exposure(client, casestudy):
    georgia_rs = casestudy["georgian-revenue-service"]
    response = client.get(reverse("browse:exposure", args=[georgia_rs.uuid]))
    assert response.status_code == 200
    rows = response.context["buyer"]["rows"]
    assert {r["rel"]["uid"] for r in rows} >= {str(_record_uuid("con-georgia-2018-2020-services")),
                                               str(_record_uuid("con-georgia-2012-kazbegi-red-bridge"))}


def test_rzeszow_2024_comes_after_lithuania_and_belgium_while_georgia_2018_comes_before(casestudy):
    result = exposure.contracts_after_bans(casestudy["nuctech"])
    by_key = {e["contract"]["uid"]: e for e in result["after"] + result["not_after"]}
    rzeszow = by_key[str(_record_uuid("con-rzeszow-xray-2024"))]
    assert rzeszow["country"] == "PL"
    assert {"LT", "BE", "US"} <= {b["country"] for b in rzeszow["after"]}
    georgia = by_key[str(_record_uuid("con-georgia-2018-2020-services"))]
    assert georgia["after"] == []
    assert {"LT", "BE"} <= {b["country"] for b in georgia["before"]}
    # Poland's 2023 contract and Belgium's 2023 exclusion share a year: their order is unknown.
    poland = by_key[str(_record_uuid("con-poland-mobile-xray-2023"))]
    assert "BE" in {b["country"] for b in poland["same_period"]}
    assert "BE" not in {b["country"] for b in poland["after"]}


@pytest.mark.parametrize("signed, banned, order", [
    ("2021-03", "2021-02-15", "after"),      # month against day: March is after February
    ("2021-02-15", "2021-03", "before"),     # and the other way round
    ("2021", "2021-02", "same_period"),      # a year cannot be placed against a month in it
    ("2021-02-15", "2021-02", "same_period"),
    ("2022", "2021-12-31", "after"),
    ("2020-12-31", "2021", "before"),
])
def test_partial_dates_compare_at_their_precision(publish, graph, signed, banned, order):
    vendor = publish.entity("Acme Scanners Ltd")
    buyer = publish.entity("Customs", kind="public_body", country="PL")
    authority = publish.entity("Ministry", kind="public_body", country="LT")
    publish.record(buyer, vendor, kind="contract", start=signed)
    publish.record(authority, vendor, kind="ban", start=banned, status="in_force")
    publish.drain()
    result = exposure.contracts_after_bans(vendor)
    entry = (result["after"] + result["not_after"])[0]
    assert [k for k in ("after", "before", "same_period") if entry[k]] == [order]


def test_the_api_gives_the_same_answers(client, casestudy):
    page = _serbia(client).context["rows"]
    api = client.get("/api/countries/RS/exposure/").json()
    assert [r["record"]["uid"] for r in api["results"]] == [r["rel"]["uid"] for r in page]
    first = api["results"][0]
    assert first["chains"][0]["steps"][0]["record"]["citations"][0]["quotes"][0]
    assert first["bans"][0]["authority"]["name"]
    nuctech = casestudy["nuctech"]
    buyer = casestudy["georgian-revenue-service"]
    page_rows = client.get(reverse("browse:exposure", args=[buyer.uuid])).context["buyer"]["rows"]
    api_rows = client.get(f"/api/entities/{buyer.uuid}/exposure/").json()["results"]
    assert [r["record"]["uid"] for r in api_rows] == [r["rel"]["uid"] for r in page_rows] != []
    after = client.get(f"/api/entities/{nuctech.uuid}/contracts-after-bans/").json()
    assert str(_record_uuid("con-rzeszow-xray-2024")) in {r["contract"]["uid"] for r in after["after"]}
    assert client.get("/api/countries/RS/exposure/", {"as_of": "2020-06-01"}).json()["as_of"] == "2020-06-01"
