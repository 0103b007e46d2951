"""Pages of busy entities and long lists: counts from aggregates, lists paginated, the
vendors overview cached but never older than the graph."""
import contextlib

import pytest
from django.db import connection
from django.urls import reverse

from apps.catalog import services
from apps.catalog.selectors import browse as browse_selectors
from tests.personas import make_user

pytestmark = pytest.mark.django_db


@contextlib.contextmanager
def rows_read():
    """Counts the rows every SELECT of the block returns (each re-run as a COUNT)."""
    counted = {"rows": 0}
    busy = []

    def wrapper(execute, sql, params, many, context):
        result = execute(sql, params, many, context)
        if not busy and sql.lstrip().upper().startswith("SELECT"):
            busy.append(1)
            try:
                with connection.cursor() as cursor:
                    cursor.execute(f"SELECT COUNT(*) FROM ({sql}) AS counted_rows", params)
                    counted["rows"] += cursor.fetchone()[0]
            finally:
                busy.pop()
        return result

    with connection.execute_wrapper(wrapper):
        yield counted


@pytest.fixture
def busy_vendor(publish, graph):
    """A vendor with 40 public contracts and 30 public deployments, plus records a reader
    must not count: one in review, one retracted, one with a draft buyer."""
    vendor = publish.entity("Acme Scanners Ltd", country="CN")
    buyers = [publish.entity(f"Buyer {i:02d}", kind="public_body", country="RS") for i in range(8)]
    contracts = [publish.record(buyers[i % 8], vendor, kind="contract", start=f"{2000 + i // 4}-{i % 4 + 1:02d}",
                                title=f"Contract {i:02d}") for i in range(40)]
    for i in range(30):
        publish.record(vendor, buyers[i % 8], kind="deployment", start=f"20{10 + i % 10}", title=f"Deployment {i:02d}")
    hidden = publish.record(buyers[0], vendor, kind="contract", start="2030", title="In review")
    hidden.workflow = "review"
    hidden.save()
    retracted = publish.record(buyers[1], vendor, kind="contract", start="2031", title="Retracted")
    services.workflow_transition(user=make_user("bob", "reviewer"), obj=retracted, to="retracted")
    draft_buyer = publish.entity("Draft Ministry", kind="public_body")
    publish.record(draft_buyer, vendor, kind="contract", start="2032", title="Draft buyer")
    draft_buyer.workflow = "draft"
    draft_buyer.save()
    publish.drain()
    return {"vendor": vendor, "contracts": contracts}


def test_it_counts_only_public_records_in_each_group(client, busy_vendor):
    response = client.get(reverse("browse:entity", args=[busy_vendor["vendor"].uuid]))
    groups = {g["key"]: g for g in response.context["groups"]}
    assert groups["contracts"]["total"] == 40 and groups["deployments"]["total"] == 30
    html = response.content.decode()
    assert "Show all 40" in html and "Show all 30" in html
    for title in ("In review", "Retracted", "Draft buyer"):
        assert title not in html


def test_the_busiest_page_shows_the_newest_of_each_group_without_reading_every_record(client, busy_vendor):
    url = reverse("browse:entity", args=[busy_vendor["vendor"].uuid])
    with rows_read() as counted:
        response = client.get(url)
    html = response.content.decode()
    assert html.count('class="record-card') == 12  # six contracts, six deployments
    assert "Contract 39" in html and "Contract 33" not in html  # the newest six contracts
    # 70 public records: the page reads the shown ones (and their sources), not all of them.
    assert counted["rows"] < 50


def test_page_two_of_a_group_shows_the_next_records(client, busy_vendor):
    url = reverse("browse:entity_group", args=[busy_vendor["vendor"].uuid, "contracts"])
    first = client.get(url)
    second = client.get(url, {"page": 2})
    titles_1 = [r.title for r in first.context["page_obj"].object_list]
    titles_2 = [r.title for r in second.context["page_obj"].object_list]
    assert titles_1 == [f"Contract {i:02d}" for i in range(39, 14, -1)]  # 25, newest first
    assert titles_2 == [f"Contract {i:02d}" for i in range(14, -1, -1)]  # the other 15
    assert "Page 2 of 2" in second.content.decode() and "← Previous" in second.content.decode()


def test_the_timeline_pages_on_and_caps_its_count(client, busy_vendor, monkeypatch):
    url = reverse("browse:timeline")
    first = client.get(url, {"kind": "contract"})
    assert first.context["page_obj"].paginator.count == 40
    assert "40 dated records" in first.content.decode() and "Page 1 of 2" in first.content.decode()
    second = client.get(url, {"kind": "contract", "page": 2}).context["page_obj"].object_list
    assert [r.title for r in second] == [f"Contract {i:02d}" for i in range(25, 40)]
    # Past the cap, the count says "more than" and the pager goes on without a total.
    monkeypatch.setattr(browse_selectors, "TIMELINE_COUNT_CAP", 30)
    capped = client.get(url, {"kind": "contract"}).content.decode()
    assert "More than 30 dated records" in capped and "Page 1</span>" in capped and "Next →" in capped
    last = client.get(url, {"kind": "contract", "page": 2})
    assert len(last.context["page_obj"].object_list) == 15 and "Next →" not in last.content.decode()


def test_a_retraction_leaves_the_cached_vendors_overview_at_once(client, publish, graph, redis_server):
    from django.core.cache import cache

    vendor = publish.entity("Acme Scanners Ltd", country="CN")
    serbia = publish.entity("Serbia", kind="country", iso_code="RS")
    contract = publish.record(serbia, vendor, kind="contract", start="2021")
    publish.drain()
    assert [v["node"]["name"] for v in client.get("/").context["vendors"]] == ["Acme Scanners Ltd"]
    assert cache.get("agg:snap:overview") is not None  # a snapshot now, refreshed after each change
    assert "Acme Scanners Ltd" in client.get(reverse("browse:vendors")).content.decode()

    services.workflow_transition(user=make_user("bob", "reviewer"), obj=contract, to="retracted")
    publish.drain()
    assert client.get("/").context["vendors"] == []
    assert "Acme Scanners Ltd" not in client.get(reverse("browse:vendors")).content.decode()

    contract.workflow = "published"  # published again (as a reviewer's revert would)
    contract.save()
    publish.drain()
    assert [v["node"]["name"] for v in client.get("/").context["vendors"]] == ["Acme Scanners Ltd"]


def test_a_retraction_leaves_the_cached_groups_and_timeline_of_a_busy_vendor_at_once(client, busy_vendor,
                                                                                   redis_server):
    vendor = busy_vendor["vendor"]
    page = reverse("browse:entity", args=[vendor.uuid])
    timeline = reverse("browse:timeline")

    def contracts_shown():
        groups = {g["key"]: g for g in client.get(page).context["groups"]}
        group_page = client.get(reverse("browse:entity_group", args=[vendor.uuid, "contracts"]))
        return (groups["contracts"]["total"], group_page.context["page_obj"].paginator.count,
                client.get(timeline, {"vendor": vendor.uuid, "kind": "contract"}).context["page_obj"].paginator.count)

    assert contracts_shown() == (40, 40, 40)
    assert contracts_shown() == (40, 40, 40)  # the second time from the cache
    services.workflow_transition(user=make_user("rita", "reviewer"), obj=busy_vendor["contracts"][39], to="retracted")
    assert contracts_shown() == (39, 39, 39)
    assert "Contract 39" not in client.get(page).content.decode()


def test_a_country_page_shows_a_new_tender_once_the_graph_has_it(client, publish, graph, redis_server):
    serbia = publish.entity("Serbia", kind="country", iso_code="RS", country="RS")
    vendor = publish.entity("Acme Scanners Ltd", country="CN")
    publish.record(serbia, vendor, kind="contract", start="2021", title="First tender")
    publish.drain()
    url = reverse("browse:country", args=["RS"])
    assert "First tender" in client.get(url).content.decode()
    publish.record(serbia, vendor, kind="contract", start="2022", title="Second tender")
    publish.drain()
    html = client.get(url).content.decode()
    assert "First tender" in html and "Second tender" in html
