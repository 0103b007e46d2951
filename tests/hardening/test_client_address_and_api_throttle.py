"""The API's rate limit counts the real client: a forged X-Forwarded-For does not buy a fresh
allowance; behind trusted proxies (VENDORGRAPH_NUM_PROXIES) the address the proxy saw counts."""
import pytest

from apps.api.throttling import AnonThrottle

pytestmark = pytest.mark.django_db


@pytest.fixture
def three_per_minute(redis_server, monkeypatch):
    monkeypatch.setattr(AnonThrottle, "THROTTLE_RATES", {"anon": "3/min", "user": "1000/min"})


def test_it_throttles_a_client_that_forges_a_new_x_forwarded_for_with_each_request(three_per_minute, client):
    codes = [client.get("/api/entities/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}").status_code for i in range(5)]
    assert codes == [200, 200, 200, 429, 429]


def test_behind_a_trusted_proxy_it_counts_the_address_the_proxy_saw(three_per_minute, client, settings):
    settings.VENDORGRAPH_NUM_PROXIES = 1
    proxy = {"REMOTE_ADDR": "10.0.0.2"}
    # The client writes anything left of what the proxy appends: that part is ignored.
    codes = [client.get("/api/entities/", HTTP_X_FORWARDED_FOR=f"198.51.100.{i}, 203.0.113.7", **proxy).status_code
             for i in range(4)]
    assert codes == [200, 200, 200, 429]
    other_client = client.get("/api/entities/", HTTP_X_FORWARDED_FOR="203.0.113.8", **proxy)
    assert other_client.status_code == 200
