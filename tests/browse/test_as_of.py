"""As of a date: one control; ended relationships are not shown as current."""
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(publish):
    vendor = publish.entity("Acme Scanners Ltd")
    buyer = publish.entity("Customs", kind="public_body", country="FI")
    old = publish.record(buyer, vendor, kind="contract", title="Old contract", start="2015", end="2018-03",
                         status="completed")
    new = publish.record(buyer, vendor, kind="contract", title="New contract", start="2021-05-10")
    gone = publish.record(vendor, buyer, kind="deployment", title="Removed scanners", status="removed")
    publish.drain()
    return vendor, old, new, gone


@pytest.mark.parametrize("as_of, expected", [
    (None, {"Old contract", "New contract", "Removed scanners"}),
    ("2016-01-01", {"Old contract"}),
    ("2018-03-31", {"Old contract"}),
    ("2018-04-01", set()),
    ("2021-05-10", {"New contract"}),
    ("2021-05-09", set()),
])
def test_the_entity_page_and_the_explorer_agree_on_what_is_current(client, history, as_of, expected):
    vendor = history[0]
    params = {"as_of": as_of} if as_of else {}
    page = client.get(reverse("browse:entity", args=[vendor.uuid]), params)
    titles = {r.title for g in page.context["groups"] for r in g["records"]}
    assert titles == expected
    data = client.get(reverse("browse:connections_json", args=[vendor.uuid]), params).json()
    assert {e["title"] for e in data["edges"]} == expected
    html = page.content.decode()
    assert 'name="as_of"' in html and html.count('id="as-of-date"') == 1


def test_a_malformed_date_is_ignored_and_said(client, history):
    page = client.get(reverse("browse:entity", args=[history[0].uuid]), {"as_of": "2021-13-45"})
    assert page.context["as_of"] is None and "was not understood" in page.content.decode()
