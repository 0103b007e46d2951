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
    assert quote.locator("blockquote").is_visible()
    shot(page, "exposure", full_page=False)
    assert page.errors == []
