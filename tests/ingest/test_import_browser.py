"""Issue 9's "done when", as a new user would do it in the real Chromium with the real worker:
an editor uploads the ZALA sample and watches the bar, an admin decides the proposed match and
publishes the batch, a reader finds ZALA Aero (in Latin letters) with its owner in the chain and
LLC CST's bans on the map, each citing its dataset line; a second upload changes nothing."""
import os
import shutil

import pytest

from tests.browse.test_browser import CHROMIUM_ARGS
from tests.conftest import wait_for

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CST = "NK-abdzbEBkqyT29GyREbiURZ"
KALASHNIKOV = "NK-nR5AXM9AVPq4pQaSPSaVam"


@pytest.fixture
def people(live_server):
    """Made before Playwright's event loop starts: an editor, an admin, and our own published
    Kalashnikov Concern, which the file's "JSC Kalashnikov Concern" should be offered."""
    from apps.catalog.vocab import Workflow
    from tests.factories import make_entity
    from tests.personas import make_user

    ours = make_entity("Kalashnikov Concern", kind="company", country="RU", workflow=Workflow.PUBLISHED)
    return {"alice": make_user("alice", "editor"), "charlie": make_user("charlie", "admin"), "ours": ours}


def shot(page, name):
    """Kept as a test artifact; with VENDORGRAPH_UPDATE_SCREENSHOTS=1 also as the README's picture."""
    from tests.articles.conftest import ROOT

    folder = ROOT / "test-artifacts" / "imports"
    folder.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(folder / f"{name}.png"), full_page=False)
    if os.environ.get("VENDORGRAPH_UPDATE_SCREENSHOTS") == "1":
        shutil.copyfile(folder / f"{name}.png", ROOT / "docs" / "screenshots" / f"{name}.png")


def _login(browser, base, username):
    page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
    page.goto(base + "/admin/login/?next=/curation/")
    page.fill("#id_username", username)
    page.fill("#id_password", f"{username}-test-password")
    page.click("input[type=submit]")
    page.wait_for_url("**/curation/")
    return page


def _upload(page, base, path):
    page.goto(base + "/curation/imports/new/")
    page.set_input_files("input[name=file]", str(path))
    page.select_option("select[name=format]", "ftm")
    page.fill("input[name=dataset]", "zala")
    page.fill("input[name=publisher]", "OpenSanctions")
    page.fill("input[name=licence]", "CC BY-NC 4.0")
    page.get_by_role("button", name="Import").click()
    page.wait_for_url("**/curation/imports/*-*/")
    assert page.locator("progress#import-bar").is_visible()
    # The bar is polled by the page itself until the worker is done: no reload here.
    page.locator("#import-progress", has_text="Done").wait_for(timeout=240_000)
    return page.locator("#import-progress").inner_text()


def test_a_new_user_imports_the_zala_cluster_decides_its_match_and_publishes_it(people, live_server, zala_path,
                                                                                 worker, monkeypatch):
    from playwright.sync_api import sync_playwright

    from apps.catalog.models import Record
    from apps.ingest.models import ImportedItem
    from apps.sync.models import OutboxEvent

    # The test reads the store between browser steps; Playwright's sync API runs an event loop
    # in this thread, which Django would otherwise take for async code.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    base = live_server.url
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        editor = _login(browser, base, "alice")
        summary = _upload(editor, base, zala_path)
        assert "Rows read: 91 of 91" in summary and "Dangling references" in summary
        shot(editor, "import-job")
        assert Record.objects.filter(workflow="draft").count() == 58

        # The admin is offered our Kalashnikov Concern for the file's, side by side with its score.
        admin = _login(browser, base, "charlie")
        admin.goto(base + "/curation/matches/")
        card = admin.locator("section.match", has_text="Kalashnikov Concern").first
        assert "score" in card.inner_text()
        shot(admin, "import-matches")
        card.get_by_role("button", name="Same (merge into ours)").click()
        admin.wait_for_load_state()
        assert ImportedItem.objects.get(dataset="zala", external_id=KALASHNIKOV).entity_id == people["ours"].pk

        # The admin publishes the batch from the job's page.
        admin.goto(base + "/curation/imports/")
        admin.locator("tr", has_text="zala").locator("a").first.click()
        admin.get_by_role("button", name="Publish this import's batch").click()
        admin.wait_for_load_state()
        assert not Record.objects.exclude(workflow="published").exists()
        wait_for(lambda: not OutboxEvent.objects.filter(delivered_at__isnull=True).exists(), timeout=120,
                 message="the worker to drain the outbox into Neo4j")

        # A reader finds ZALA Aero by its name in Latin letters and sees its owner in the chain.
        reader = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        reader.goto(base + "/search/?q=Zala+Aero")
        reader.locator("main a", has_text="Зала Аеро").first.click()
        reader.get_by_role("link", name="Ownership chain").first.click()
        chain = reader.locator("[data-testid=chain]").first
        assert "Alexander Vyacheslavovich ZAKHAROV" in chain.inner_text()

        # LLC CST: our Kalashnikov Concern (merged) is among its owners, and its bans are on the map,
        # each citing a line of the dataset.
        cst = ImportedItem.objects.get(dataset="zala", external_id=CST).entity
        reader.goto(f"{base}/entities/{cst.uuid}/ownership/")
        assert "Kalashnikov Concern" in reader.locator("main").inner_text()
        reader.goto(f"{base}/entities/{cst.uuid}/deployments/")
        for iso in ("AU", "GB", "US"):
            assert reader.locator(f"#country-{iso}").get_attribute("data-status") == "banned"
        reader.locator("#country-US a[href^='/records/']").first.click()
        record_text = reader.locator("main").inner_text()
        assert "line " in record_text and "OpenSanctions" in record_text

        # The same file again: nothing changed, and nothing new waits for the graph.
        before = OutboxEvent.objects.count()
        assert "Nothing changed." in _upload(editor, base, zala_path)
        assert OutboxEvent.objects.count() == before
        browser.close()
