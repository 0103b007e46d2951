"""Vendors side by side: the list (sortable) and the vendor x country matrix."""
import pytest
from django.core.cache import cache
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def two_vendors(publish, graph):
    acme = publish.entity("Acme Scanners Ltd", country="CN")
    beta = publish.entity("Beta Systems", country="DE")
    serbia = publish.entity("Serbia", kind="country", iso_code="RS")
    poland = publish.entity("Poland", kind="country", iso_code="PL")
    lithuania = publish.entity("Lithuania", kind="country", iso_code="LT")
    publish.record(serbia, acme, kind="contract", start="2021", amount="1200000", currency="EUR")
    publish.record(poland, acme, kind="contract", start="2022", amount="100", currency="EUR")
    georgia = publish.entity("Georgia", kind="country", iso_code="GE")
    publish.record(georgia, acme, kind="contract", start="2019")
    publish.record(lithuania, beta, kind="ban", start="2021", status="in_force")
    publish.record(poland, beta, kind="contract", start="2020", amount="5000000", currency="EUR")
    publish.record(acme, beta, kind="ownership")  # not a footprint: no country of its own
    publish.drain()
    return {"acme": acme, "beta": beta}


def _names(response):
    return [v["node"]["name"] for v in response.context["page_obj"].object_list]


def test_it_lists_every_vendor_with_its_countries_and_sorts_them(client, two_vendors):
    url = reverse("browse:vendors")
    response = client.get(url)
    assert _names(response) == ["Acme Scanners Ltd", "Beta Systems"]  # 3 countries against 2
    rows = {v["node"]["name"]: v for v in response.context["page_obj"].object_list}
    assert rows["Acme Scanners Ltd"]["by_status"]["contracted"] == ["GE", "PL", "RS"]
    assert rows["Beta Systems"]["by_status"]["banned"] == ["LT"] and rows["Beta Systems"]["bans"] == 1
    assert _names(client.get(url, {"sort": "bans"})) == ["Beta Systems", "Acme Scanners Ltd"]
    assert _names(client.get(url, {"sort": "value"})) == ["Beta Systems", "Acme Scanners Ltd"]
    html = client.get(url, {"sort": "value"}).content.decode()
    assert "1,200,100" in html or "1 200 100" in html or "1200100" in html


def test_the_matrix_gives_each_cell_its_status_and_records(client, two_vendors):
    response = client.get(reverse("browse:vendor_matrix"))
    assert [c["iso2"] for c in response.context["columns"]] == ["GE", "LT", "PL", "RS"]
    beta = next(line for line in response.context["matrix"] if line["vendor"]["node"]["name"] == "Beta Systems")
    ge, lt, pl, rs = beta["cells"]
    assert lt["status"] == "banned" and pl["status"] == "contracted" and rs is None and ge is None
    html = response.content.decode()
    assert f'/records/{lt["records"][0]}/' in html


def test_the_matrix_shows_one_page_of_vendors_at_a_time_in_the_lists_order(client, two_vendors, redis_server,
                                                                            monkeypatch):
    """At a million entities there are ~19,000 vendors: the matrix pages through them like the list."""
    from apps.catalog.selectors import vendors as vendor_selectors

    monkeypatch.setattr(vendor_selectors, "VENDORS_PER_PAGE", 1)
    cache.clear()  # the snapshot is cut into pages when it is computed
    url = reverse("browse:vendor_matrix")

    def rows(**query):
        return [line["vendor"]["node"]["name"] for line in client.get(url, query).context["matrix"]]

    assert rows() == ["Acme Scanners Ltd"] and rows(page=2) == ["Beta Systems"]
    assert rows(sort="bans") == ["Beta Systems"] and rows(sort="bans", page=2) == ["Acme Scanners Ltd"]
    html = client.get(url).content.decode()
    assert 'rel="next"' in html and "Page 1 of 2" in html
