"""An admin in the real Chromium: merges a proposed match, then splits it off again."""
import json

import pytest

from tests.browse.test_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def proposed(live_server, tmp_path):
    """Our Nuctech, an admin with a password and an import proposing "NUCTECH COMPANY LIMITED",
    made before Playwright's event loop starts."""
    from apps.catalog import services as catalog
    from apps.ingest.services import import_job_create, import_job_run
    from tests.personas import make_user

    admin = make_user("charlie", "admin")
    ours = catalog.entity_create(user=admin, kind="company", name="Nuctech", country="CN")
    path = tmp_path / "nuctech.jsonl"
    path.write_text(json.dumps({"id": "cn-1", "schema": "Company", "properties": {
        "name": ["NUCTECH COMPANY LIMITED"], "country": ["cn"]}}) + "\n", encoding="utf-8")
    import_job_run(job=import_job_create(user=admin, path=path, dataset="registry"))
    return ours


def test_an_admin_merges_a_match_and_splits_it_again(proposed, live_server):
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        page.goto(live_server.url + "/admin/login/?next=/curation/matches/")
        page.fill("#id_username", "charlie")
        page.fill("#id_password", "charlie-test-password")
        page.click("input[type=submit]")
        page.wait_for_url("**/curation/matches/")

        match = page.locator("section.match", has_text="NUCTECH COMPANY LIMITED")
        assert "score 100" in match.inner_text()
        match.get_by_role("button", name="Same (merge into ours)").click()
        page.wait_for_load_state()
        assert "No matches waiting." in page.content()

        merged = page.locator("ul.merges li", has_text="NUCTECH COMPANY LIMITED")
        merged.get_by_label("Why split").fill("a reseller, not the maker")
        merged.get_by_role("button", name="Split again").click()
        page.wait_for_load_state()
        assert "Split NUCTECH COMPANY LIMITED off again" in page.content()
        assert page.locator("ul.merges li", has_text="NUCTECH COMPANY LIMITED").count() == 0
        browser.close()

    from apps.catalog.models import Entity
    from apps.curation.models import MergeDecision

    assert Entity.objects.filter(name="NUCTECH COMPANY LIMITED").exists()
    decision = MergeDecision.objects.get()
    assert (decision.verdict, decision.decided_by.username) == ("different", "charlie")
    assert "a reseller" in decision.note
