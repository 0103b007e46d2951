"""The front door in the real Chromium: from the home page to a vendor in one click, the
vendors list sorted by bans, and Serbia's exposure explaining itself with quotes."""
import pytest

from tests.browse.test_browser import loaded, page, shot  # noqa: F401 (fixtures)

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


def test_a_new_user_goes_from_the_home_page_to_a_vendor_and_its_exposure(loaded, live_server, page):  # noqa: F811
    nuctech, _bank = loaded
    url = live_server.url

    page.goto(url + "/")
    page.locator("#deployment-map svg path.status-banned, #deployment-map svg [data-status=banned]").first.wait_for()
    assert page.get_by_role("search").first.is_visible()
    shot(page, "home")
    page.locator('[data-testid="home-vendors"]').get_by_role("link", name="Nuctech", exact=True).click()
    page.wait_for_url(f"**/entities/{nuctech.uuid}/")
    assert page.locator("h1").inner_text().strip() == "Nuctech"

    page.goto(url + "/vendors/?sort=bans")
    first = page.locator('[data-testid="vendor-row"]').first
    assert first.locator("th a").first.inner_text() == "Nuctech"
    assert "Lithuania" in first.inner_text() and "Serbia" in first.inner_text()
    shot(page, "vendors")
    page.goto(url + "/vendors/matrix/")
    assert page.locator('[data-testid="cell"].map-banned').count() >= 3

    page.goto(url + "/countries/RS/exposure/")
    supplier = page.locator('[data-testid="exposed-supplier"]').filter(has_text="Nuctech").first
    assert "China National Nuclear Corporation" in supplier.inner_text()
    assert supplier.locator('[data-testid="exposure-row"][data-kind="loan"]').count() == 1
    quote = supplier.locator('[data-testid="exposure-ban"] .hop-quote').first
    quote.locator("summary").click()
    assert quote.locator("blockquote").first.is_visible()
    shot(page, "exposure", full_page=False)
    assert page.errors == []


OVERLAPS_JS = """() => {
  const cy = window.vendorgraphExplorer;
  const boxes = cy.nodes().map((n) => ({ id: n.data('label'),
    b: n.renderedBoundingBox({ includeLabels: true, includeNodes: true, includeEdges: false, includeOverlays: false }) }));
  const out = [];
  for (let i = 0; i < boxes.length; i++) for (let j = i + 1; j < boxes.length; j++) {
    const a = boxes[i].b, b = boxes[j].b;
    if (Math.min(a.x2, b.x2) > Math.max(a.x1, b.x1) + 0.5 && Math.min(a.y2, b.y2) > Math.max(a.y1, b.y1) + 0.5)
      out.push([boxes[i].id, boxes[j].id]);
  }
  return { nodes: boxes.length, overlaps: out };
}"""


def test_the_explorer_shows_no_overlapping_labels_and_a_shared_link_reproduces_the_view(loaded, live_server, page):  # noqa: F811
    nuctech, _bank = loaded
    base = live_server.url + f"/entities/{nuctech.uuid}/connections/"

    page.goto(base)
    page.locator("#explorer[data-restored='1']").wait_for()
    measured = page.evaluate(OVERLAPS_JS)
    assert measured["nodes"] > 30 and measured["overlaps"] == [], measured["overlaps"][:5]
    # Edge labels wait for hover, selection or zoom: at the default zoom they are not drawn.
    hidden = page.evaluate("""() => { const cy = window.vendorgraphExplorer, e = cy.edges()[0];
        const before = cy.zoom() * 8 < parseFloat(e.style('min-zoomed-font-size'));
        e.addClass('hover'); const after = parseFloat(e.style('min-zoomed-font-size')) === 0; e.removeClass('hover');
        return before && after; }""")
    assert hidden
    shot(page, "connections-readable", element=".explorer-layout")

    # Filter, expand two nodes, share.
    page.goto(base + "?kind=contract&kind=ban&kind=loan&kind=ownership&kind=deployment")
    page.locator("#explorer[data-restored='1']").wait_for()
    for name in ("Serbia", "China National Nuclear Corporation"):
        page.select_option("#expand-node", label=name)
        page.click("#expand-button")
        page.wait_for_function("(n) => new URL(location.href).searchParams.getAll('expand').length === n",
                               arg=1 if name == "Serbia" else 2)
    view = page.evaluate("() => window.vendorgraphExplorer.nodes().map((n) => n.id()).sort()")
    assert page.evaluate(OVERLAPS_JS)["overlaps"] == []
    page.click("#share-button")
    link = page.locator("#share-url").input_value()
    assert "expand=" in link and "kind=ban" in link

    other = page.context.new_page()
    other.goto(link)
    other.locator("#explorer[data-restored='1']").wait_for()
    assert other.evaluate("() => window.vendorgraphExplorer.nodes().map((n) => n.id()).sort()") == view
    assert other.locator("input[type=checkbox][name=kind][value=ban]").is_checked()
    assert not other.locator("input[type=checkbox][name=kind][value=statement]").is_checked()
    assert page.errors == []
