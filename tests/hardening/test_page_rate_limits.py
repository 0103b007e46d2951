"""Per-client rate limits on the expensive public pages: path finder, exports,
connections.json and search suggestions answer 429 with a clear message once a client (its
real address, whatever X-Forwarded-For says) has used its allowance."""
import uuid

import pytest

pytestmark = pytest.mark.django_db

PAGES = [
    ("paths", "/paths/", False),
    ("exports", "/export/search.csv?q=acme", False),
    ("suggest", "/search/suggest/?q=acme", False),
    ("connections", f"/entities/{uuid.uuid4()}/connections.json", True),
]


@pytest.mark.parametrize("scope,url,is_json", PAGES, ids=[p[0] for p in PAGES])
def test_it_answers_429_once_a_client_used_its_allowance_on_an_expensive_page(scope, url, is_json, graph,
                                                                               redis_server, client, settings):
    settings.VENDORGRAPH_PAGE_RATES = {**settings.VENDORGRAPH_PAGE_RATES, scope: "2/min"}
    responses = [client.get(url, HTTP_X_FORWARDED_FOR=f"198.51.100.{i}") for i in range(3)]
    assert 429 not in [r.status_code for r in responses[:2]]
    limited = responses[2]
    assert limited.status_code == 429
    assert 1 <= int(limited["Retry-After"]) <= 60
    message = limited.json()["error"] if is_json else limited.content.decode()
    assert "Too many requests from your address for this page (2/min). Try again in" in message


def test_other_pages_and_other_clients_keep_their_allowance(redis_server, client, settings):
    settings.VENDORGRAPH_PAGE_RATES = {**settings.VENDORGRAPH_PAGE_RATES, "suggest": "1/min"}
    assert client.get("/search/suggest/?q=acme").status_code == 200
    assert client.get("/search/suggest/?q=acme").status_code == 429
    assert client.get("/search/suggest/?q=acme", REMOTE_ADDR="127.0.0.2").status_code == 200
    assert client.get("/paths/").status_code == 200


def test_a_burst_across_the_edge_of_a_minute_is_still_refused(redis_server, client, settings, monkeypatch):
    from apps.web import limits

    settings.VENDORGRAPH_PAGE_RATES = {**settings.VENDORGRAPH_PAGE_RATES, "suggest": "2/min"}
    clock = [1_800_000_059.5]  # half a second before a minute's edge
    monkeypatch.setattr(limits, "_now", lambda: clock[0])
    codes = []
    for _ in range(3):
        codes.append(client.get("/search/suggest/?q=acme").status_code)
        clock[0] += 0.4
    assert codes == [200, 200, 429]
    clock[0] += 60
    assert client.get("/search/suggest/?q=acme").status_code == 200, "a minute later the allowance is back"
