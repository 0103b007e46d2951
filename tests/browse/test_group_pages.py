"""A group of an entity's records on its own pages ("show all"): newest first across the ends
that name the entity and the group's kinds, paginated, only public records, as of a date."""
import pytest
from django.db import connection
from django.urls import reverse

from apps.catalog import services
from apps.catalog.selectors import browse as browse_selectors
from tests.personas import make_user

pytestmark = pytest.mark.django_db


def _page(client, entity, group, page=1, **params):
    response = client.get(reverse("browse:entity_group", args=[entity.uuid, group]), {"page": page, **params})
    assert response.status_code == 200
    page_obj = response.context["page_obj"]
    return page_obj.paginator.count, [r.title for r in page_obj.object_list], response.content.decode()


@pytest.fixture
def court_vendor(publish):
    """A vendor in 30 investigations and court cases, named by different ends (subject,
    object, party), with dates interleaved across the two kinds and the ends."""
    vendor = publish.entity("Acme Scanners Ltd", country="CN")
    others = [publish.entity(f"Authority {i:02d}", kind="public_body") for i in range(3)]
    for i in range(30):
        kind = "investigation" if i % 2 else "court_case"
        other = others[i % 3]
        if i % 3 == 0:
            publish.record(other, vendor, kind=kind, start=f"{2000 + i}-05", title=f"Case {i:02d}")
        elif i % 3 == 1:
            publish.record(vendor, other, kind=kind, start=f"{2000 + i}-05", title=f"Case {i:02d}")
        else:  # the vendor as the third party of a case between two others
            publish.record(other, others[(i + 1) % 3], kind=kind, start=f"{2000 + i}-05", party=vendor,
                           title=f"Case {i:02d}")
    publish.record(others[0], vendor, kind="contract", start="2040", title="A contract")  # another group
    return vendor


def test_it_pages_a_group_newest_first_across_its_kinds_and_ends(client, court_vendor):
    total, first, html = _page(client, court_vendor, "investigations")
    assert total == 30 and first == [f"Case {i:02d}" for i in range(29, 4, -1)]
    assert "Page 1 of 2" in html
    total, second, _html = _page(client, court_vendor, "investigations", page=2)
    assert second == [f"Case {i:02d}" for i in range(4, -1, -1)]
    assert _page(client, court_vendor, "investigations", page=9)[1] == second  # past the end: the last page


def test_it_breaks_date_ties_by_the_newest_record_and_puts_undated_ones_last(client, publish):
    vendor = publish.entity("Acme Scanners Ltd")
    buyer = publish.entity("Ministry", kind="public_body")
    publish.record(buyer, vendor, kind="ban", start="", title="Undated")
    for i in range(27):
        publish.record(buyer if i % 2 else vendor, vendor if i % 2 else buyer, kind="ban", start="2020",
                       title=f"Ban {i:02d}")
    total, first, _html = _page(client, vendor, "bans")
    _total, second, _html = _page(client, vendor, "bans", page=2)
    assert total == 28
    assert first + second == [f"Ban {i:02d}" for i in range(26, -1, -1)] + ["Undated"]


def test_a_record_naming_the_entity_by_two_ends_is_shown_and_counted_once(client, publish):
    vendor = publish.entity("Acme Scanners Ltd")
    site = publish.entity("Port of Piraeus", kind="site")
    operator = publish.entity("Customs", kind="public_body")
    # The vendor deploys its own scanner and also operates it (subject and party).
    publish.record(vendor, site, kind="deployment", start="2021", party=vendor, title="Twice")
    publish.record(operator, site, kind="deployment", start="2020", party=vendor, title="As operator")
    total, titles, html = _page(client, vendor, "deployments")
    assert total == 2 and titles == ["Twice", "As operator"]
    assert html.count('class="record-card') == 2


def test_it_never_shows_or_counts_a_record_a_reader_may_not_see(client, publish):
    vendor = publish.entity("Acme Scanners Ltd")
    buyer = publish.entity("Ministry", kind="public_body")
    for i in range(3):
        publish.record(buyer, vendor, start=f"201{i}", title=f"Contract {i}")
    in_review = publish.record(buyer, vendor, start="2030", title="In review")
    in_review.workflow = "review"
    in_review.save()
    retracted = publish.record(buyer, vendor, start="2031", title="Retracted")
    services.workflow_transition(user=make_user("bob", "reviewer"), obj=retracted, to="retracted")
    draft_party = publish.entity("Draft Agent")
    publish.record(buyer, vendor, start="2032", party=draft_party, title="Draft party")
    draft_party.workflow = "draft"
    draft_party.save()
    total, titles, html = _page(client, vendor, "contracts")
    assert total == 3 and titles == ["Contract 2", "Contract 1", "Contract 0"]
    for title in ("In review", "Retracted", "Draft party"):
        assert title not in html
    # Through the draft party itself nothing is public either.
    assert client.get(reverse("browse:entity_group", args=[draft_party.uuid, "contracts"])).status_code == 404


def test_as_of_a_date_it_shows_and_counts_only_the_records_current_then(client, publish):
    vendor = publish.entity("Acme Scanners Ltd")
    authority = publish.entity("Ministry", kind="public_body")
    publish.record(authority, vendor, kind="ban", start="2015", end="2018", title="Ended in 2018")
    publish.record(authority, vendor, kind="ban", start="2016", title="Still in force")
    publish.record(authority, vendor, kind="ban", start="2021", title="Enacted later")
    publish.record(authority, vendor, kind="ban", start="2014", status="lifted", title="Lifted, no end date")
    total, titles, _html = _page(client, vendor, "bans", as_of="2017-06-01")
    assert total == 2 and titles == ["Still in force", "Ended in 2018"]
    total, titles, _html = _page(client, vendor, "bans", as_of="2020-01-01")
    assert total == 1 and titles == ["Still in force"]
    assert _page(client, vendor, "bans")[0] == 4


def test_ownership_splits_into_owners_and_holdings_by_end(client, publish):
    group = publish.entity("Acme Group")
    vendor = publish.entity("Acme Scanners Ltd")
    subsidiary = publish.entity("Acme Scanners Poland")
    publish.record(group, vendor, kind="ownership", start="2010", title="Group owns vendor")
    publish.record(vendor, subsidiary, kind="ownership", start="2012", title="Vendor owns subsidiary")
    assert _page(client, vendor, "owners")[:2] == (1, ["Group owns vendor"])
    assert _page(client, vendor, "holdings")[:2] == (1, ["Vendor owns subsidiary"])


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite's plan (PostgreSQL's, on a store of a realistic size: README, Benchmarks)")
def test_each_end_of_a_group_is_read_in_order_from_its_index(publish):
    vendor = publish.entity("Acme Scanners Ltd")
    arms = browse_selectors._group_arms(vendor, "investigations", None)
    assert len(arms) == 8  # four ends, two kinds
    for arm, end in zip(arms[::2], ("subject", "object", "site", "party")):
        sql, params = arm[:50].query.sql_with_params()
        with connection.cursor() as cursor:
            cursor.execute(f"EXPLAIN QUERY PLAN {sql}", params)
            plan = " | ".join(row[-1] for row in cursor.fetchall())
        assert f"USING INDEX record_{end}_group" in plan and "TEMP B-TREE" not in plan, plan
