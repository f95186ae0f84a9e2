"""The System page's "Data providers" table in headless Chromium at 1366x768 and 1920x1080:
coordination (the market owner) with crypto routed to Binance first, Binance pointed at a
loopback fake answering 500 (its breaker opens), Polygon routed without its key; the states
read in words, the page shows no console error."""
from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

import pytest

from tests.conftest import serve
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite
from tests.services.coordination.test_providers_api import down_binance, start_suite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(240)]
VIEWPORTS = [(1366, 768), (1920, 1080)]


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    with serve(down_binance()) as binance_url:
        s = start_suite(tmp_path_factory.mktemp("system-providers"), binance_url,
                        ("coordination", "paper_streams", "dashboard"))
        try:
            yield s
        finally:
            s.stop_all()


def _row(page: Any, name: str) -> Any:
    return page.locator(f'#providers tr[data-provider="{name}"]')


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_data_providers_table_in_words(browser: Any, suite: Suite, width: int,
                                       height: int) -> None:
    ctx = browser.new_context(viewport={"width": width, "height": height},
                              base_url=suite.url("dashboard"))
    page = ctx.new_page()
    errors: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("response", lambda r: r.status >= 400 and errors.append(f"HTTP {r.status} {r.url}"))
    try:
        page.goto("/system")
        page.wait_for_selector('#providers tr[data-provider="binance"]', timeout=20_000)
        names = page.locator("#providers tbody tr").evaluate_all(
            "rows => rows.map(r => r.dataset.provider)")
        assert names == ["simulated", "csv", "alpaca", "yahoo", "binance", "alphavantage",
                         "polygon", "tiingo", "fmp"]
        binance = _row(page, "binance")
        state = binance.locator("[data-state]").inner_text()
        assert re.fullmatch(r"breaker open until \d\d:\d\d:\d\d", state), state
        assert "crypto" in binance.inner_text() and "Upstream" in binance.inner_text()
        assert _row(page, "polygon").locator("[data-state]").inner_text() == \
            "no key (set POLYGON_API_KEY)"
        assert _row(page, "simulated").locator("[data-state]").inner_text() == "ready"
        assert "not routed" in _row(page, "fmp").inner_text()
        assert "not in use" in _row(page, "yahoo").inner_text()
        assert re.fullmatch(r"\d+/\d+ a minute", _row(page, "binance").locator("td").nth(9)
                            .inner_text()), "Binance's budget"
        page.locator("#prov-title").scroll_into_view_if_needed()
        screenshot(page, f"system-providers-{width}")
        # readable: the table fits the panel without a horizontal scroll at this width
        fits = page.evaluate("() => { const b = document.querySelector('#providers');"
                             " return [b.scrollWidth, b.clientWidth]; }")
        assert fits[0] <= fits[1] + 1, f"the providers table scrolls sideways at {width}px: {fits}"
        assert page.locator("#prov-stale").inner_text().startswith("No read served stale")
        assert errors == []
    finally:
        ctx.close()
