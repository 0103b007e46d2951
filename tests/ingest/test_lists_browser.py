"""End to end in the real Chromium (Debian's, through Playwright), as a new user tries the
imports: the two US restriction lists imported with the project's mappings and published,
then Huawei's and Hikvision's pages, the deployments map and the timeline show their US
restrictions, each citing its list row; a BODS chain shows its effective share."""
from pathlib import Path

import pytest
from django.urls import reverse

from tests.browse.test_browser import page, shot  # noqa: F401 - the one Playwright fixture

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
SAMPLES = ROOT.parent / "shared" / "samples"
MAPPINGS = ROOT / "data" / "mappings"


@pytest.fixture
def imported(live_server, redis_server, graph, charlie, bob):
    """Everything imported and published before Playwright starts (its sync API runs an
    event loop, and Django refuses ORM calls from a thread with a running loop)."""
    from apps.catalog.models import Entity, Record
    from apps.ingest.services import import_job_create, import_job_publish, import_job_run
    from apps.sync.services import outbox_drain

    if not (SAMPLES / "lists").exists() or not (SAMPLES / "bods").exists():
        pytest.skip("../shared/samples is not beside the repository")
    for name in ("us_fcc_covered_list", "us_ndaa_section_889"):
        job = import_job_run(job=import_job_create(
            user=charlie, path=SAMPLES / "lists" / f"{name}.csv", dataset="", fmt="csv",
            mapping=MAPPINGS / f"{name}.yml", publisher="OpenSanctions", licence="CC BY-NC 4.0"))
        assert job.status == "done", job.error
        import_job_publish(user=bob, job=job)
    job = import_job_run(job=import_job_create(user=charlie, path=SAMPLES / "bods" / "core" / "01-direct-ownership.json",
                                               dataset="bods-fixtures", fmt="bods"))
    import_job_publish(user=bob, job=job)
    outbox_drain()
    vendors = {key: Entity.objects.get(name=name) for key, name in (
        ("huawei", "Huawei Technologies Company"), ("hikvision", "Hangzhou Hikvision Digital Technology Company"))}
    rows = {key: sorted(c.quote for r in Record.objects.filter(kind="ban", object=e) for c in r.citations.all())
            for key, e in vendors.items()}
    return vendors, rows, Entity.objects.get(name="Acme Holdings Ltd")


def test_a_new_user_sees_the_us_restrictions_and_a_bods_share_after_importing(imported, live_server, page):  # noqa: F811
    vendors, rows, acme = imported
    url = live_server.url
    for key, vendor in vendors.items():
        assert len(rows[key]) == 2  # one row of each list
        # The entity page: both US restrictions, each with its list row as the quote.
        page.goto(url + reverse("browse:entity", args=[vendor.uuid]))
        assert page.locator("h1").inner_text().strip() == vendor.name
        body = page.locator("main").inner_text()
        assert "Federal Communications Commission" in body and "United States Congress" in body
        for summary in page.locator(".record-sources summary").all():
            summary.click()
        quotes = " ".join(page.locator(".record-sources blockquote").all_inner_texts())
        for row in rows[key]:
            assert " ".join(row.split())[:120] in " ".join(quotes.split())
        shot(page, f"import-{key}-entity", docs=False, full_page=True)

        # The deployments map: the United States marked as banning it.
        page.goto(url + reverse("browse:deployments", args=[vendor.uuid]))
        page.locator("#deployment-map[data-ready='1']").wait_for()
        assert page.locator("path[data-iso2=US]").get_attribute("data-status") == "banned"
        assert "United States" in page.locator("#country-US").inner_text()
        shot(page, f"import-{key}-map", docs=False)

        # The timeline of its bans: the FCC listing on 12 March 2021; section 889, which the
        # list gives no date, listed apart as undated (no date invented); each with its row.
        page.goto(url + reverse("browse:timeline") + f"?vendor={vendor.uuid}&kind=ban")
        dated = page.locator("ol.timeline").first
        assert dated.locator("time").first.inner_text() == "12 March 2021"
        assert "Federal Communications Commission" in dated.inner_text()
        undated = page.locator(".timeline-undated")
        assert "United States Congress" in undated.inner_text() and "no date given" in undated.inner_text()
        for summary in page.locator(".record-sources summary").all():
            summary.click()
        quotes = " ".join(" ".join(page.locator(".record-sources blockquote").all_inner_texts()).split())
        assert all(" ".join(row.split())[:120] in quotes for row in rows[key])
        shot(page, f"import-{key}-timeline", docs=False)

    # The BODS chain: Jane Smith owns 75% of Acme Holdings.
    page.goto(url + reverse("browse:ownership", args=[acme.uuid]))
    chain = page.locator("[data-testid=chain]").first
    assert "Jane Smith" in chain.inner_text() and "75" in chain.inner_text()
    shot(page, "import-bods-chain", docs=False)
    assert page.errors == []
