"""The performance page in a real browser against real services (paper trading, reporting, the
dashboard): charts that fill their panels with dates and money on their axes, "not enough data"
where reporting gives no figure, open trades marked at the last price, and the exports."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

from tests.dashboard.conftest import screenshot, seed_bars
from tests.dashboard.harness import Suite, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
VIEWPORTS = [(1366, 768), (1920, 1080)]
SNAPSHOT_DAYS = 4  # fewer daily returns than reporting's minimum of 20 for Sharpe


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """The automation holds 5 AAPL bought at the market (an open trade) and has an equity
    snapshot at the close of each of the last few days and now."""
    from shared.db import Database
    from shared.market.clock import ClockController
    from tests.conftest import make_settings, own_market

    tmp = tmp_path_factory.mktemp("dash-performance")
    seed_bars(tmp)
    s = Suite(tmp)
    try:
        for name in ("paper_trading", "paper_streams", "reporting", "dashboard"):
            s.start(name)
        pt = s.url("paper_trading")
        r = requests.post(pt + "/api/v1/orders", timeout=10, json={
            "symbol": "AAPL", "side": "buy", "qty": "5", "type": "market",
            "time_in_force": "day"})
        assert r.status_code == 201, r.text
        settings = make_settings(tmp)
        db = Database.from_settings(settings)
        ClockController(db, settings.market.clock).step(2)
        own_market(settings, db).catch_up()
        deadline = time.monotonic() + 20
        while not requests.get(pt + "/api/v1/positions", timeout=5).json()["data"]:
            assert time.monotonic() < deadline, "the market order did not fill"
            time.sleep(0.2)
        db.close()
        now = datetime.fromisoformat(requests.get(s.url("dashboard") + "/api/v1/clock",
                                                  timeout=10).json()["data"]["now"])
        for days in range(SNAPSHOT_DAYS, -1, -1):
            ts = now - timedelta(days=days)
            snap = requests.post(s.url("reporting") + "/api/v1/report/snapshot",
                                 json={"ts": ts.isoformat()}, timeout=10)
            assert snap.status_code == 201, snap.text
        yield s
    finally:
        s.stop_all()


def _report(suite: Suite, path: str, **params: Any) -> Any:
    r = requests.get(suite.url("reporting") + "/api/v1/report/" + path, params=params,
                     timeout=10)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _open_page(page: Any, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/performance")
    page.wait_for_selector("#journal [data-col=unrealized][data-value]", timeout=15_000)
    page.wait_for_selector("[data-metric=sharpe]", timeout=15_000)
    until(page, "() => document.querySelectorAll('#daily canvas').length > 0", timeout=30.0)
    page.wait_for_timeout(500)  # the charts' resize observers settle


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_charts_fill_their_panels_with_dates_and_money(page: Any, suite: Suite, width: int,
                                                       height: int) -> None:
    _open_page(page, width, height)
    for chart in ("equity", "drawdown", "daily"):
        box = page.eval_on_selector(f"#{chart}", "e => e.getBoundingClientRect().width")
        panel = page.eval_on_selector(f"#{chart}", "e => e.closest('.panel').clientWidth")
        canvas = page.eval_on_selector(
            f"#{chart}", "e => Math.max(...[...e.querySelectorAll('canvas')].map("
            "c => c.getBoundingClientRect().right)) - e.getBoundingClientRect().left")
        assert canvas >= 0.9 * box and box >= 0.9 * (panel - 20), (chart, canvas, box, panel)
    # the axes as a person reads them: dates under the bars, dollars beside them
    daily = page.eval_on_selector("#daily", "e => e.dataset.xLabels")
    assert daily and all(re.fullmatch(r"[A-Z][a-z]{2} (\d{2}|\d{4})", x)
                         for x in daily.split("|")), daily  # "Mar 04", "Jan 2024": no bare "2"
    equity = page.eval_on_selector("#equity", "e => e.dataset.xLabels")
    assert equity and all(re.fullmatch(r"[A-Z][a-z]{2} (\d{2}|\d{4})|\d{2}:\d{2}", x)
                          for x in equity.split("|")), equity
    assert page.eval_on_selector("#daily", "e => e.dataset.yFormat") == "money"
    assert page.eval_on_selector("#equity", "e => e.dataset.yFormat") == "money"
    days = [d["day"] for d in _report(suite, "equity")["daily"]]
    assert len(days) >= 3
    bars = page.eval_on_selector("#daily", "e => e.dataset.bars")
    assert bars == ",".join(days)
    assert page.console_errors == []
    screenshot(page, f"performance-{width}")


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_few_days_say_not_enough_data(page: Any, suite: Suite, width: int, height: int) -> None:
    summary = _report(suite, "summary")
    assert summary["sharpe"] is None and summary["minimums"]["sharpe"] == {"daily_returns": 20}
    _open_page(page, width, height)
    for k in ("sharpe", "sortino"):
        text = page.inner_text(f"[data-metric={k}]")
        assert "not enough data" in text and "20 daily returns" in text, text
    assert page.console_errors == []


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_open_trade_shows_unrealized_pnl_of_the_api(page: Any, suite: Suite, width: int,
                                                    height: int) -> None:
    row = _report(suite, "trades", status="open")["trades"][0]
    assert row["symbol"] == "AAPL" and row["unrealized_pnl"] is not None
    _open_page(page, width, height)
    cell = page.locator("#journal tbody tr", has_text="AAPL").locator("[data-col=unrealized]")
    shown = cell.get_attribute("data-value")
    assert Decimal(shown) == Decimal(row["unrealized_pnl"])
    assert "unrealised" in cell.inner_text().lower()
    assert page.console_errors == []


@pytest.mark.parametrize("query,name,ctype", [
    ({"format": "csv", "what": "trades"}, "report-trades.csv", "text/csv; charset=utf-8"),
    ({"format": "csv", "what": "equity"}, "report-equity.csv", "text/csv; charset=utf-8"),
    ({"format": "csv", "what": "daily"}, "report-daily.csv", "text/csv; charset=utf-8"),
    ({"format": "json"}, "report.json", "application/json"),
    ({"format": "html"}, "report.html", "text/html; charset=utf-8"),
])
def test_exports_are_named_per_format_with_one_content_type(suite: Suite, query: dict[str, str],
                                                            name: str, ctype: str) -> None:
    r = requests.get(suite.url("dashboard") + "/api/v1/export/reporting", params=query,
                     timeout=20)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Disposition"] == f'attachment; filename="{name}"'
    assert r.raw.headers.getlist("Content-Type") == [ctype]


def test_export_links_download_the_named_files(page: Any, suite: Suite) -> None:
    page.goto("/performance")
    page.wait_for_selector("a[data-export]")
    names = []
    for link in page.locator("a[data-export]").all():
        with page.expect_download() as dl:
            link.click()
        names.append(dl.value.suggested_filename)
    assert names == ["report-trades.csv", "report-equity.csv", "report-daily.csv",
                     "report.json", "report.html"]


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_an_account_without_data_says_what_is_missing_and_what_to_do(
        page: Any, suite: Suite, width: int, height: int) -> None:
    name = f"empty-{width}"
    r = requests.post(suite.url("paper_trading") + "/api/v1/accounts", timeout=10,
                      json={"name": name, "key_id": name.upper(), "starting_cash": "1000"})
    assert r.status_code == 201, r.text
    page.set_viewport_size({"width": width, "height": height})
    page.goto(f"/performance?account={name}")
    page.wait_for_selector("#equity-empty:not([hidden])", timeout=15_000)
    assert page.inner_text("#equity-empty").startswith("No equity snapshots yet")
    assert "Start the automation or run one cycle on the Clock page" in page.inner_text(
        "#equity-empty")
    assert page.is_hidden("#equity") and page.is_hidden("#daily")
    assert page.inner_text("#daily-empty").startswith("No daily P&L yet")
    page.wait_for_selector("#journal .empty-state")
    assert page.inner_text("#journal .empty-state").startswith("No trades yet.")
    page.wait_for_selector("[data-metric=sharpe]")
    assert page.inner_text("[data-metric=sharpe]") == \
        "not enough data — needs 20 daily returns (0 so far)"
    assert page.console_errors == []
    screenshot(page, f"performance-empty-{width}")


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_reporting_down_is_said_plainly(page: Any, suite: Suite, width: int,
                                        height: int) -> None:
    """Last in this module: it stops reporting."""
    suite.stop("reporting")
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/performance")
    page.wait_for_selector("#metrics .empty-state", timeout=20_000)
    assert page.inner_text("#metrics .empty-state") == (
        "Reporting is not answering. Its figures show again once it is back: restart it on "
        "the System page.")
    assert page.inner_text("#journal .empty-state").startswith("Reporting is not answering.")
    assert page.inner_text("#equity-empty").startswith("Reporting is not answering")
    assert page.is_hidden("#equity")
    assert [e for e in page.console_errors if "HTTP 503" not in e] == []
    screenshot(page, f"performance-down-{width}")
