"""A curator in the real Chromium: upload an HTML article, see the mentions highlighted,
accept a proposal and find it in the review queue with its quote."""
import os
import shutil

import pytest

from tests.articles.conftest import ARTICLE_HTML, ROOT
from tests.browse.test_browser import CHROMIUM_ARGS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
ARTIFACTS = ROOT / "test-artifacts" / "articles"
DOCS = ROOT / "docs" / "screenshots"


@pytest.fixture
def editor(live_server):
    """The case study and an editor with a password, made before Playwright's event loop starts."""
    from apps.ingest.casestudy import load_casestudy
    from tests.personas import make_user

    load_casestudy()
    return make_user("alice", "editor")


def shot(page, name):
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path))
    if os.environ.get("VENDORGRAPH_UPDATE_SCREENSHOTS") == "1":
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")


def test_a_curator_turns_an_html_article_into_a_draft_record(editor, live_server, tmp_path):
    from playwright.sync_api import sync_playwright

    article = tmp_path / "belgium-nuotech.html"
    article.write_text(ARTICLE_HTML, encoding="utf-8")
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        page = browser.new_context(viewport={"width": 1280, "height": 900}).new_page()
        dialogs = []
        page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
        page.goto(live_server.url + "/admin/login/?next=/curation/articles/new/")
        page.fill("#id_username", "alice")
        page.fill("#id_password", "alice-test-password")
        page.click("input[type=submit]")
        page.wait_for_url("**/curation/articles/new/")

        page.set_input_files("input[name=file]", str(article))
        page.get_by_role("button", name="Read the article").click()
        page.wait_for_url("**/curation/articles/*-*/")
        # The page's own scripts never ran: nothing was injected and the title is the article's.
        assert "INJECTED" not in page.content() and dialogs == []
        assert page.evaluate("window.__pwned === undefined")
        assert "Nuotech" in page.locator("h1").inner_text()

        known = page.locator("#article-text a.mention-entity", has_text="Nuotech").first
        assert known.is_visible()
        assert known.get_attribute("title").startswith("Nuctech")
        assert page.locator("#article-text mark.mention-name", has_text="Zeta Logistics Group").is_visible()
        assert page.locator("#article-text mark.mention-date", has_text="12 March 2019").is_visible()
        shot(page, "article")

        # Accept three proposals, one click each (the kind, parties, date and amount are prefilled).
        quotes = {}
        for heading, queued in (("Tender / contract", "Ministry of Finance of Georgia → Nuctech"),
                                ("Role", "Wendy Example-Smith → Zeta Logistics Group"),
                                ("Donation", "Nuctech → Serbia")):
            card = page.locator("article.proposal", has=page.locator("h3", has_text=heading)).first
            quotes[queued] = card.locator("blockquote").inner_text()
            card.locator("form.accept button").click()
            page.wait_for_load_state()
            assert "saved with its quote" in page.content()
        assert quotes["Ministry of Finance of Georgia → Nuctech"].startswith(
            "The Ministry of Finance of Georgia signed a contract with Nuctech")

        # Each one waits in the review queue, and its citation carries the exact sentence.
        for queued, quote in quotes.items():
            page.goto(live_server.url + "/curation/")
            row = page.locator("li", has_text=queued).first
            assert row.is_visible()
            row.get_by_role("link", name="citations").click()
            page.wait_for_load_state()
            assert quote in page.locator("main").inner_text()
        browser.close()
