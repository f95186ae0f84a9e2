"""The dashboard in a real browser (Debian's chromium, headless) against real services."""
from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from dashboard.pages import PAGES
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]


def _open_orders(suite: Suite) -> list[dict[str, Any]]:
    r = requests.get(suite.url("paper_trading") + "/api/v1/orders", params={"status": "open"},
                     timeout=5)
    assert r.status_code == 200, r.text
    data = r.json()["data"]
    return data if isinstance(data, list) else data.get("orders", [])


def test_every_page_loads_without_console_errors(page: Any, suite: Suite) -> None:
    for name, path, title in PAGES:
        page.goto(path)
        page.wait_for_selector("#hdr-clock:not(:has-text('clock …'))", timeout=10_000)
        assert page.title().startswith(title) or name in page.title().lower()
        # the built-in market's prices are simulated, and every page says so in its header
        badge = page.locator("header.top [data-testid='market-source']")
        assert badge.is_visible() and badge.inner_text().strip() == "Simulated market"
        # let the live stream deliver its first snapshot
        page.wait_for_timeout(700)
        screenshot(page, name)
        assert page.console_errors == [], f"{name}: {page.console_errors}"  # type: ignore[attr-defined]


def test_chart_renders_candles(page: Any) -> None:
    page.goto("/symbol?symbol=AAPL")
    page.wait_for_selector("#chart canvas", timeout=15_000)
    until(page, "window.__chartBars && window.__chartBars > 0", timeout=15.0)
    bars = page.evaluate("window.__chartBars")
    assert bars >= 50
    # the main canvas has painted something (not a blank, single-colour surface)
    painted = page.evaluate("""() => {
        const cs = [...document.querySelectorAll('#chart canvas')];
        return cs.some(c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
            const seen = new Set(); for (let i = 0; i < d.length; i += 4 * 97) seen.add(d[i] + ',' + d[i+1] + ',' + d[i+2]);
            return seen.size > 3; });
    }""")
    assert painted
    screenshot(page, "symbol-chart")
    assert page.console_errors == []  # type: ignore[attr-defined]


def test_order_ticket_places_and_cancels(page: Any, suite: Suite) -> None:
    page.goto("/trading")
    page.fill("#f-symbol", "MSFT")
    page.select_option("#f-type", "limit")
    page.fill("#f-qty", "3")
    page.fill("#f-limit_price", "1.25")  # far below the market: stays open
    page.click("#submit-order")
    row = page.locator("#orders tr[data-order-id]").filter(has_text="MSFT")
    row.first.wait_for(timeout=10_000)
    order_id = row.first.get_attribute("data-order-id")
    api_ids = [o["id"] for o in _open_orders(suite)]
    assert order_id in api_ids
    screenshot(page, "trading-open-order")
    page.click(f"#orders button[data-order-id='{order_id}']")
    page.wait_for_selector(f"#orders tr[data-order-id='{order_id}']", state="detached",
                           timeout=10_000)
    assert order_id not in [o["id"] for o in _open_orders(suite)]


def test_validation_error_shows_beside_its_field(page: Any) -> None:
    page.goto("/trading")
    page.fill("#f-qty", "-5")
    page.fill("#f-limit_price", "10")
    page.click("#submit-order")
    err = page.locator("#err-qty")
    err.wait_for(state="visible", timeout=10_000)
    assert err.inner_text().strip()
    assert page.get_attribute("#f-qty", "aria-invalid") == "true"
    # an error about another field does not land on qty
    page.fill("#f-qty", "1")
    page.fill("#f-limit_price", "")
    page.click("#submit-order")
    page.locator("#err-limit_price").wait_for(state="visible", timeout=10_000)
    assert page.locator("#err-qty").inner_text() == ""
    screenshot(page, "trading-validation")


def test_banner_when_a_service_stops_and_clears_after_restart(page: Any, suite: Suite) -> None:
    page.goto("/trading")
    banner = page.locator("#banner")
    page.wait_for_timeout(1500)
    assert not re.search("paper_trading", banner.inner_text() if banner.is_visible() else "")
    suite.stop("paper_trading")
    try:
        page.wait_for_selector("#banner.show:has-text('paper_trading')", timeout=20_000)
        screenshot(page, "banner-down")
    finally:
        t0 = time.monotonic()
        suite.start("paper_trading")
    deadline = time.monotonic() + 20
    while "paper_trading" in (banner.get_attribute("data-down") or ""):
        assert time.monotonic() < deadline, "the banner did not clear after the restart"
        page.wait_for_timeout(250)
    assert not banner.is_visible()
    print(f"banner cleared {time.monotonic() - t0:.1f}s after the restart began")


def test_live_stream_connects_through_the_stream_server(page: Any, suite: Suite) -> None:
    """The EventSource follows /api/v1/stream's 307 to the stream server (CORS there, the
    page's CSP here) and receives the topics."""
    page.goto("/trading")
    page.wait_for_selector("#live-dot.ok", timeout=15_000)
    until(page, """() => new Promise(resolve => {
        const es = new EventSource('/api/v1/stream?topics=clock');
        es.addEventListener('clock', () => { es.close(); resolve(true); });
    })""", timeout=15.0)
    assert page.console_errors == []  # type: ignore[attr-defined]
