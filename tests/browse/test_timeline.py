"""The timeline: dated records in date order, filterable by vendor, country and type."""
import pytest
from django.urls import reverse

pytestmark = pytest.mark.django_db


def test_the_timeline_is_in_date_order_and_filters(client, casestudy, django_assert_max_num_queries):
    with django_assert_max_num_queries(8):
        response = client.get(reverse("browse:timeline"))
    records = list(response.context["page_obj"].object_list)
    starts = [r.start for r in records]
    assert starts == sorted(starts) and starts[0] == "2008"
    kinds = {r.kind for r in records}
    assert {"contract", "ban", "loan", "donation"} <= kinds and "statement" not in kinds

    nuctech = casestudy["nuctech"]
    bans = client.get(reverse("browse:timeline"), {"vendor": nuctech.uuid, "kind": "ban"}).context["page_obj"]
    assert [r.start for r in bans.object_list] == ["2020", "2021-02", "2023"]
    by_name = client.get(reverse("browse:timeline"), {"vendor_q": "nuotech", "kind": "ban"}).context
    assert by_name["vendor"] == nuctech and by_name["page_obj"].paginator.count == 3
    serbia = client.get(reverse("browse:timeline"), {"country": "RS"}).context["page_obj"].object_list
    assert serbia and all("RS" in (r.subject.country, r.object.country, r.site.country if r.site else "") for r in serbia)
    raids = client.get(reverse("browse:timeline"), {"kind": "investigation"}).content.decode()
    assert "23 April 2024" in raids
