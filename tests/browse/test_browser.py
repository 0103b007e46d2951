"""End to end in the real Chromium (Debian's, through Playwright) on the case study:
search with a misspelling, the ownership chain, the deployment map, the explorer, the path
finder and the timeline. Screenshots are kept in test-artifacts/ and, for the README, in
docs/screenshots/ when VENDORGRAPH_UPDATE_SCREENSHOTS=1."""
import os
import shutil
from pathlib import Path

import pytest
from django.urls import reverse

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "test-artifacts" / "browse"
DOCS = ROOT / "docs" / "screenshots"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]


@pytest.fixture
def page():
    from playwright.sync_api import sync_playwright

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path="/usr/bin/chromium", args=CHROMIUM_ARGS)
        context = browser.new_context(viewport={"width": 1280, "height": 860})
        pg = context.new_page()
        errors: list[str] = []
        pg.on("pageerror", lambda exc: errors.append(str(exc)))
        pg.errors = errors
        yield pg
        browser.close()


def shot(page, name, *, docs=True, full_page=False, element=None):
    path = ARTIFACTS / f"{name}.png"
    if element:
        page.locator(element).screenshot(path=str(path))
    else:
        page.screenshot(path=str(path), full_page=full_page)
    update_docs = os.environ.get("VENDORGRAPH_UPDATE_SCREENSHOTS") == "1"
    if docs and update_docs and path.stat().st_size < 250_000:
        DOCS.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, DOCS / f"{name}.png")


@pytest.fixture
def loaded(live_server, redis_server, graph):
    """The case study, loaded before Playwright starts (its sync API runs an event loop,
    and Django refuses ORM calls from a thread with a running loop)."""
    from apps.catalog.models import Entity
    from apps.ingest.casestudy import load_casestudy
    from apps.sync.services import outbox_drain

    load_casestudy()
    outbox_drain()
    return Entity.objects.get(key="nuctech"), Entity.objects.get(key="chinese-export-import-bank")


def test_an_analyst_browses_the_case_study(loaded, live_server, page):
    nuctech, bank = loaded
    url = live_server.url

    # 1. Search "Nuotech" from the header of any page and land on Nuctech.
    page.goto(url + "/")
    box = page.get_by_label("Search entities by name or alias")
    box.fill("Nuotech")
    page.locator("#global-suggest li").first.wait_for()  # htmx suggestions as you type
    box.press("Enter")
    page.wait_for_url("**/search/?q=Nuotech")
    shot(page, "search")
    page.get_by_role("link", name="Nuctech", exact=True).first.click()
    page.wait_for_url(f"**/entities/{nuctech.uuid}/")
    assert page.locator("h1").inner_text().strip() == "Nuctech"
    page.locator(".record-sources summary").first.click()  # the quote on demand
    assert page.locator(".record-sources details[open] blockquote").first.is_visible()
    shot(page, "entity")

    # 2. The ownership chain reaches the state owner.
    page.get_by_role("link", name="Ownership chain").click()
    chain = page.locator("[data-testid=chain]").first
    assert "China" in chain.locator(".chain-title").inner_text() and "Ultimate owner" in chain.inner_text()
    assert chain.locator("[data-testid=unknown-intermediate]").is_visible()
    shot(page, "ownership")

    # 3. The map shows Serbia and Lithuania in different states.
    page.get_by_role("link", name="Deployments map").click()
    page.locator("#deployment-map[data-ready='1']").wait_for()
    serbia = page.locator("path[data-iso2=RS]")
    lithuania = page.locator("path[data-iso2=LT]")
    assert serbia.get_attribute("data-status") == "deployed"
    assert lithuania.get_attribute("data-status") == "banned"
    assert serbia.evaluate("el => getComputedStyle(el).fill") != lithuania.evaluate("el => getComputedStyle(el).fill")
    lithuania.focus()
    page.keyboard.press("Enter")  # keyboard: a country jumps to its rows in the table
    page.wait_for_function("document.activeElement && document.activeElement.closest('#country-LT')")
    page.evaluate("window.scrollTo(0, 0)")
    shot(page, "deployments")

    # 4. The connections explorer: expand a node with the keyboard control, click an edge.
    kinds = "&".join(f"kind={k}" for k in ["ownership", "contract", "ban", "loan", "donation", "deployment",
                                                "investigation", "court_case"])  # statements left out
    page.goto(url + reverse("browse:connections", args=[nuctech.uuid]) + "?" + kinds)
    page.locator("#explorer[data-ready='1']").wait_for()
    before = page.evaluate("window.vendorgraphExplorer.nodes().length")
    page.get_by_label("Expand a node").select_option(label="Serbia")
    page.get_by_role("button", name="Expand").click()
    page.wait_for_function(f"window.vendorgraphExplorer.nodes().length > {before}")
    page.evaluate("""() => { const cy = window.vendorgraphExplorer;
        cy.edges().filter(e => e.data('kind') === 'loan').first().emit('tap'); }""")
    page.locator("#edge-detail blockquote").first.wait_for(state="attached")
    assert "Export-import Bank" in page.locator("#edge-detail").inner_text()
    shot(page, "connections", element=".explorer-layout")

    # 5. The path finder links the lending bank to Nuctech, each hop with its citation.
    page.goto(url + reverse("browse:paths") + f"?from={bank.uuid}")
    page.get_by_label("To").fill("Nuctech")
    page.get_by_role("button", name="Find paths").click()
    first = page.locator("[data-testid=path]").first
    first.wait_for()
    assert "Chinese Export-import Bank – Serbia – Nuctech" in first.locator(":scope > h3").inner_text()
    assert first.locator(".record-sources li").count() >= 2
    shot(page, "paths")

    # 6. Timeline filtered by vendor and type; a country page; as of a date.
    page.goto(url + reverse("browse:timeline") + f"?vendor={nuctech.uuid}&kind=ban&kind=contract")
    assert page.locator("ol.timeline time").first.inner_text() == "2008"
    shot(page, "timeline")
    page.goto(url + reverse("browse:country", args=["RS"]))
    assert "Nuctech" in page.locator("#vendors-h + table").inner_text()
    shot(page, "country")
    page.goto(url + reverse("browse:entity", args=[nuctech.uuid]))
    page.get_by_label("As of").fill("2021-06-01")
    page.get_by_role("button", name="Show", exact=True).click()
    page.wait_for_url("**as_of=2021-06-01**")
    assert "Showing what was current on 1 June 2021" in page.locator(".as-of").inner_text()
    shot(page, "as-of", docs=True)
    assert page.errors == []
