"""The report page in Debian's Chromium, driven by Playwright."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.web.conftest import ARTIFACTS, CHROMIUM, CHROMIUM_ARGS, LiveServer

pytestmark = pytest.mark.browser

QUERY = "from=2024-03-01&to=2024-03-31"


@pytest.fixture
def backend() -> str:
    """The browser checks the page on SQLite; the figures are checked on both backends elsewhere."""
    return "sqlite"


@pytest.mark.parametrize("width", [1280, 360])
def test_the_report_page_in_chromium(app, march, width):
    """As the county admin at desktop and phone widths: figures, charts, sorting, a download;
    no script errors, nothing loaded from another host, nothing wider than the screen."""
    import os

    if not os.path.exists(CHROMIUM):
        pytest.fail(f"{CHROMIUM} is missing (make system-deps installs it)")
    from playwright.sync_api import sync_playwright

    from tests.conftest import DEMO_PASSWORD

    ARTIFACTS.mkdir(exist_ok=True)
    with LiveServer(app) as server, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        page = browser.new_page(viewport={"width": width, "height": 900}, locale="zh-CN")
        problems: list[str] = []
        hosts: set[str] = set()
        page.on("console", lambda m: problems.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: problems.append(str(e)))
        page.on("request", lambda req: hosts.add(urlsplit(req.url).netloc))
        page.goto(server.url + "/login")
        page.fill("input[name=username]", "county.admin")
        page.fill("input[name=password]", DEMO_PASSWORD)
        page.press("input[name=password]", "Enter")
        page.wait_for_url(server.url + "/")
        page.goto(f"{server.url}/reports?{QUERY}")
        assert page.locator(".card-submitted .card-value").inner_text() == "7"
        assert page.locator("svg.chart").count() >= 5
        assert page.locator("svg.chart").first.bounding_box()["width"] > 200
        # the page fits the screen: only the wide tables scroll, inside their own box
        assert page.evaluate("document.documentElement.scrollWidth") <= width + 1
        rows = page.locator("#t-facilities tbody tr")
        received = page.locator("#t-facilities thead button.sort", has_text="接收")
        received.click()
        first = rows.first.locator("td").nth(4).get_attribute("data-sort")
        last = rows.last.locator("td").nth(4).get_attribute("data-sort")
        assert float(first) >= float(last) and float(first) == 4  # T1 received four, the most
        received.click()
        assert float(rows.first.locator("td").nth(4).get_attribute("data-sort")) == 0
        page.screenshot(path=str(ARTIFACTS / f"reports-{width}.png"), full_page=False)
        with page.expect_download() as download:
            page.locator("a", has_text="Excel").first.click()
        assert download.value.suggested_filename == "referrals-2024-03-01-2024-03-31.xlsx"
        browser.close()
    assert problems == []
    assert hosts == {urlsplit(server.url).netloc}
