"""A vendor's deployment map and table; a country's page."""
import json

import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_map_colours_serbia_deployed_and_lithuania_banned(client, casestudy, django_assert_max_num_queries):
    nuctech = casestudy["nuctech"]
    with django_assert_max_num_queries(5):
        response = client.get(reverse("browse:deployments", args=[nuctech.uuid]))
    data = response.context["map"]
    assert data["RS"]["status"] == "deployed" and "donated" in data["RS"]["label"]
    assert data["LT"]["status"] == "banned"
    assert data["BE"]["status"] == "banned" and data["GE"]["status"] == "deployed"
    html = response.content.decode()
    assert json.loads(html.split('id="deployment-map-data" type="application/json">')[1].split("</script>")[0]) == data
    serbia = next(c for c in response.context["countries"] if c["iso2"] == "RS")
    sites = {row["site_name"] for row in serbia["rows"]}
    assert "Gradina border crossing" in sites
    assert all(row["source_list"] for row in serbia["rows"]), "every row has its sources"
    assert "no source" not in html, "the table shows each row's sources"
    assert "Radio Free Europe (RSE), 23 November 2023" in html
    assert reverse("browse:country", args=["RS"]) in html


def test_as_of_a_date_the_map_shows_what_stood_then(client, casestudy):
    # Undated records cannot be placed in time and stay; dated ones wait for their start.
    response = client.get(reverse("browse:deployments", args=[casestudy["nuctech"].uuid]), {"as_of": "2008-01-01"})
    early = response.context["map"]
    assert early["LT"]["status"] != "banned" and early["RS"]["status"] == "contracted"
    assert "US" not in early and "BE" not in early
    response = client.get(reverse("browse:deployments", args=[casestudy["nuctech"].uuid]), {"as_of": "2021-06-01"})
    assert response.context["map"]["LT"]["status"] == "banned"  # ban of February 2021


def test_the_country_page_lists_vendors_bans_tenders_and_loans(client, casestudy, django_assert_max_num_queries):
    with django_assert_max_num_queries(6):
        serbia = client.get(reverse("browse:country", args=["RS"]))
    assert serbia.status_code == 200
    vendors = {v["node"]["name"]: v for v in serbia.context["vendors"]}
    assert "Nuctech" in vendors and "Deployed" in vendors["Nuctech"]["status_labels"]
    sections = {s["key"]: s for s in serbia.context["sections"]}
    assert sections["loans"]["total"] == 1 and sections["tenders"]["total"] >= 2
    lithuania = client.get(reverse("browse:country", args=["LT"]))
    bans = {s["key"]: s for s in lithuania.context["sections"]}["bans"]
    assert [r.title for r in bans["records"]] and bans["records"][0].subject.country == "LT"
    assert client.get(reverse("browse:country", args=["ZZ"])).status_code == 404
