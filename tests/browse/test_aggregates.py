"""The vendors overview and the country pages read snapshots that a task in the real worker
refreshes after the graph changes: readers never wait for a whole-graph query."""
import pytest
from django.conf import settings
from django.core.cache import cache
from django.test import Client
from django.urls import reverse

from apps.catalog.selectors import aggregates
from apps.sync.services import outbox_drain
from graph import server
from tests.conftest import wait_for
from tests.factories import make_entity, make_published_record

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]  # the worker sees real commits


@pytest.fixture
def large(settings):
    """Behave as on a large graph: no snapshot is ever computed for a reader's request."""
    settings.AGGREGATES_INLINE_MAX_ENTITIES = 0


def deployed(vendor, country_entity, title):
    return make_published_record(vendor, country_entity, kind="deployment", status="active", start="2022",
                                 title=title)


def page(client, name, *args):
    response = client.get(reverse(name, args=args))
    assert response.status_code == 200
    return response.content.decode()


def test_a_new_deployment_shows_on_the_country_page_and_vendors_overview_after_the_workers_refresh(
        client, graph, worker, large):
    serbia = make_entity("Serbia", kind="country", iso_code="RS", country="RS", workflow="published")
    deployed(make_entity("Acme Scanners Ltd", country="CN"), serbia, "Acme at the Belgrade border")
    wait_for(lambda: "Acme Scanners Ltd" in page(client, "browse:country", "RS"), message="the first refresh")

    deployed(make_entity("Rapiscan Systems", country="US"), serbia, "Rapiscan at Horgos")
    wait_for(lambda: "Rapiscan Systems" in page(client, "browse:country", "RS"), message="the country's refresh")
    wait_for(lambda: "Rapiscan Systems" in page(client, "browse:vendors"), message="the overview's refresh")
    html = page(client, "browse:country", "RS")
    assert "Acme Scanners Ltd" in html and 'data-testid="figures-as-of"' not in html
    assert "Rapiscan Systems" in page(client, "web:home")


def test_a_stale_snapshot_shows_its_as_of_time_and_a_missing_one_says_it_is_being_computed(
        client, graph, redis_server, large):
    cache.clear()
    serbia = make_entity("Serbia", kind="country", iso_code="RS", country="RS", workflow="published")
    deployed(make_entity("Acme <script>alert(1)</script> Ltd", country="CN"), serbia, "Acme at the border")
    outbox_drain()  # in this process: the graph has it, and no worker refreshes anything

    html = page(client, "browse:country", "RS")
    assert 'data-testid="figures-pending"' in html and "being computed" in html
    assert cache.get("agg:scheduled:country:RS") is not None  # a refresh is queued
    assert 'data-testid="figures-pending"' in page(client, "web:home")

    aggregates.snapshot_refresh(scope="country:RS")  # what the task runs
    aggregates.snapshot_refresh(scope="overview")
    html = page(client, "browse:country", "RS")
    assert "Acme &lt;script&gt;alert(1)&lt;/script&gt; Ltd" in html and "<script>alert(1)" not in html
    assert "figures-as-of" not in html and "figures-pending" not in html
    computed_at = cache.get("agg:snap:country:RS")["computed_at"]

    deployed(make_entity("Rapiscan Systems", country="US"), serbia, "Rapiscan at Horgos")
    outbox_drain()
    html = page(client, "browse:country", "RS")
    assert "Rapiscan Systems" not in html and "Acme &lt;script&gt;" in html  # the last snapshot, at once
    assert f"Figures as of <time datetime=\"{computed_at.isoformat()}\">{computed_at:%H:%M} UTC</time>; refreshing" in html
    home = client.get(reverse("web:home"))
    assert [v["node"]["name"] for v in home.context["vendors"]] == ["Acme <script>alert(1)</script> Ltd"]
    assert 'data-testid="figures-as-of"' in home.content.decode() and "<script>alert(1)" not in home.content.decode()

    aggregates.snapshot_refresh(scope="country:RS")
    html = page(client, "browse:country", "RS")
    assert "Rapiscan Systems" in html and "figures-as-of" not in html


def test_a_neo4j_failure_during_a_refresh_keeps_the_old_snapshot_and_the_refresh_is_retried(
        client, graph, start_worker, large):
    serbia = make_entity("Serbia", kind="country", iso_code="RS", country="RS", workflow="published")
    deployed(make_entity("Acme Scanners Ltd", country="CN"), serbia, "Acme at the border")
    outbox_drain()
    aggregates.snapshot_refresh(scope="country:RS")
    deployed(make_entity("Rapiscan Systems", country="US"), serbia, "Rapiscan at Horgos")
    outbox_drain()  # the graph has it; its refresh is queued for the worker, not yet started

    server.stop(data_dir=settings.NEO4J_DATA_DIR)
    try:
        w = start_worker()  # the queued refresh runs now, and fails: Neo4j is down
        wait_for(lambda: "Retry in" in w.log_path.read_text(errors="replace"), timeout=60,
                 message="the refresh to fail and be retried")
        html = page(client, "browse:country", "RS")  # the old snapshot, said to be old
        assert "Acme Scanners Ltd" in html and "Rapiscan Systems" not in html
        assert 'data-testid="figures-as-of"' in html
    finally:
        server.start(data_dir=settings.NEO4J_DATA_DIR, host=settings.NEO4J_BOLT_HOST,
                     port=settings.NEO4J_BOLT_PORT, pagecache=settings.NEO4J_PAGECACHE,
                     heap=settings.NEO4J_HEAP, timeout=settings.NEO4J_START_TIMEOUT,
                     tx_timeout=settings.NEO4J_TX_TIMEOUT)  # as the session's server (conftest)

    wait_for(lambda: "Rapiscan Systems" in page(client, "browse:country", "RS"), timeout=90,
             message="the retried refresh after Neo4j is back")
    assert "Acme Scanners Ltd" in page(client, "browse:country", "RS")


def test_refreshes_wait_longer_when_a_round_of_figures_is_expensive_so_the_graph_is_not_held_back(
        graph, redis_server, large, settings, monkeypatch):
    """At a million entities a round of every scope costs minutes: a change during a long import
    must not requeue it every debounce period (it shares the worker with the outbox drain)."""
    from apps.catalog import tasks

    cache.clear()
    queued = []
    monkeypatch.setattr(tasks.aggregates_refresh_task, "apply_async",
                        lambda args, kwargs, countdown, retry: queued.append((args[0], countdown)))
    settings.AGGREGATES_DEBOUNCE_SECONDS, settings.AGGREGATES_WORK_PERCENT = 30, 25
    serbia = make_entity("Serbia", kind="country", iso_code="RS", country="RS", workflow="published")
    deployed(make_entity("Acme Scanners Ltd", country="CN"), serbia, "Acme at the Belgrade border")
    outbox_drain()
    assert queued and {countdown for _, countdown in queued} == {30.0}  # cheap figures: the debounce

    for scope, _ in queued:  # the refreshes run and record what they cost
        cache.delete("agg:scheduled:" + scope)
        aggregates.snapshot_refresh(scope=scope)
    costs = cache.get("agg:costs")
    assert set(costs) == {scope for scope, _ in queued}
    cache.set("agg:costs", {**costs, aggregates.OVERVIEW: 40.0, "country:RS": 60.0}, timeout=None)

    queued.clear()
    deployed(make_entity("Rapiscan Systems", country="US"), serbia, "Rapiscan at Horgos")
    outbox_drain()
    assert queued, "a change still queues the refresh"
    assert all(countdown >= 3 * 100.0 for _, countdown in queued)  # a 100 s round waits ≥ 300 s
    html = Client().get(reverse("browse:country", args=["RS"])).content.decode()
    assert 'data-testid="figures-as-of"' in html  # meanwhile the reader sees the old figures' time
