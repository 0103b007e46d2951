"""Login throttling (django-axes): after AXES_FAILURE_LIMIT wrong passwords, even the right one
is refused, on the admin login and on the API's HTTP Basic auth."""
import base64
import json

import pytest

from tests.factories import make_entity

pytestmark = pytest.mark.django_db


def _basic(username: str, password: str) -> str:
    return "Basic " + base64.b64encode(f"{username}:{password}".encode()).decode()


def test_it_locks_the_admin_login_after_repeated_wrong_passwords(bob, client, settings):
    right = {"username": "bob", "password": "bob-test-password"}
    for _ in range(settings.AXES_FAILURE_LIMIT):
        response = client.post("/admin/login/?next=/admin/", {**right, "password": "guess"})
    response = client.post("/admin/login/?next=/admin/", right)
    assert response.status_code == 429
    assert "Too many failed sign-in attempts" in response.content.decode()
    assert client.get("/admin/").status_code == 302, "still signed out"


def test_the_admin_login_still_works_after_a_few_mistakes(bob, client, settings):
    right = {"username": "bob", "password": "bob-test-password"}
    for _ in range(settings.AXES_FAILURE_LIMIT - 1):
        client.post("/admin/login/?next=/admin/", {**right, "password": "guess"})
    assert client.post("/admin/login/?next=/admin/", right).status_code == 302
    assert client.get("/admin/").status_code == 200


def test_it_locks_basic_auth_on_the_api_after_repeated_wrong_passwords(bob, client, settings):
    a, b = make_entity("A Ltd"), make_entity("B Ltd")
    body = json.dumps({"kind": "contract", "subject": str(a.uuid), "object": str(b.uuid)})

    def create(password):
        return client.post("/api/records/", body, content_type="application/json",
                           HTTP_AUTHORIZATION=_basic("bob", password))

    assert create("bob-test-password").status_code == 201
    codes = [create("guess").status_code for _ in range(settings.AXES_FAILURE_LIMIT)]
    # Refused (403: DRF answers so when session auth comes first); the last one reaches the limit.
    assert codes == [403] * (settings.AXES_FAILURE_LIMIT - 1) + [429]
    locked = create("bob-test-password")
    assert locked.status_code == 429
    assert locked.json()["detail"].startswith("Too many failed sign-in attempts: try again in 15 minutes")
