"""report.html of a replay, as a quant reads it: the run's configuration, the trades on the
price, equity and drawdown marked, figures with their definitions, a journal in exchange
time, and no empty section; opened offline in headless Chromium at both viewports."""
from __future__ import annotations

import csv
import html as htmllib
import json
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import pandas as pd
import pytest
from markupsafe import escape

from hybrid_manager import main
from shared.analytics.report_text import STATS
from tests.dashboard.conftest import ARTIFACTS, browser, screenshot  # noqa: F401 (fixture)

ROOT = Path(__file__).resolve().parents[2]
bt = pytest.importorskip("backtesting")
DATA = Path(bt.__file__).parent / "test"
GOOG, EURUSD, BTCUSD = DATA / "GOOG.csv", DATA / "EURUSD.csv", DATA / "BTCUSD.csv"
VIEWPORTS = ((1366, 768), (1920, 1080))


class Page:
    """A report.html split into its sections."""

    def __init__(self, html: str) -> None:
        self.html = html
        parts = re.split(r"<h2>(.*?)</h2>", html, flags=re.S)
        self.sections = {htmllib.unescape(parts[i].strip()): parts[i + 1]
                         for i in range(1, len(parts), 2)}

    def section(self, prefix: str) -> str:
        found = [v for k, v in self.sections.items() if k.startswith(prefix)]
        assert len(found) == 1, f"section {prefix!r} in {list(self.sections)}"
        return found[0]

    def config(self) -> dict[str, str]:
        rows = re.findall(r'<tr><th class="l">(.*?)</th><td class="l">(.*?)</td></tr>',
                          self.section("Run configuration"), re.S)
        return {htmllib.unescape(k): htmllib.unescape(v) for k, v in rows}

    def stats(self) -> dict[str, tuple[str, str]]:
        rows = re.findall(r'<tr><th class="l">(.*?)</th>\s*<td( class="na")?>(.*?)</td>',
                          self.section("Statistics"), re.S)
        return {htmllib.unescape(k): (htmllib.unescape(v), na) for k, na, v in rows}

    def journal(self) -> list[dict[str, str]]:
        table = re.search(r'<table class="journal">(.*?)</table>', self.html, re.S)
        assert table, "no journal table"
        rows = re.findall(r"<tr>(.*?)</tr>", table.group(1), re.S)
        head = [htmllib.unescape(c) for c in re.findall(r"<th[^>]*>(.*?)</th>", rows[0])]
        return [dict(zip(head, [htmllib.unescape(c.strip()) for c in
                                re.findall(r"<td[^>]*>(.*?)</td>", r, re.S)], strict=True))
                for r in rows[1:]]


class Run(Page):
    """One replay's output: its report.html, trades.csv and report.json."""

    def __init__(self, out: Path) -> None:
        self.path = out / "report.html"
        super().__init__(self.path.read_text())
        with (out / "trades.csv").open() as f:
            self.trades = list(csv.DictReader(f))
        self.json = json.loads((out / "report.json").read_text())


def _replay(out: Path, data: Path, symbol: str, *extra: str) -> Run:
    assert main(["replay", "--data", str(data), "--symbol", symbol, "--out", str(out),
                 *extra]) == 0
    return Run(out)


@pytest.fixture(scope="module")
def goog(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _replay(tmp_path_factory.mktemp("goog"), GOOG, "GOOG", "--commission", "0.002",
                   "--param", "fast=10", "--param", "slow=20")


@pytest.fixture(scope="module")
def eurusd(tmp_path_factory: pytest.TempPathFactory) -> Run:
    return _replay(tmp_path_factory.mktemp("eur"), EURUSD, "EURUSD", "--tz", "UTC",
                   "--timeframe", "1h", "--qty-step", "1000", "--slippage-bps", "0.5",
                   "--sizing", "percent:50", "--finalize-trades")


def _closed(run: Run) -> list[dict[str, str]]:
    return [t for t in run.trades if t["exit_time"]]


def _assert_nothing_empty(run: Page) -> None:
    """Every section holds a chart, a table with rows, or a line saying why it has none."""
    for title, body in run.sections.items():
        has_rows = re.search(r"<tr>\s*<t[hd][^>]*>[^<]+</t[hd]>", body) and re.search(
            r"</tr>\s*<tr>", body)
        note = re.search(r'<p class="note">\s*\S', body)
        assert "<svg" in body or has_rows or note, f"section {title!r} is empty"
        for table in re.findall(r"<table.*?</table>", body, re.S):
            assert table.count("<tr>") >= 2, f"a table in {title!r} has no row"
    assert re.search(r"Generated at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.", run.html)


def test_daily_run_shows_its_configuration(goog: Run) -> None:
    cfg = goog.config()
    assert cfg["Data file"] == str(GOOG) and cfg["Symbol"] == "GOOG"
    assert cfg["Bars"] == str(len(pd.read_csv(GOOG))) == "2148"
    assert (cfg["First bar"], cfg["Last bar"]) == ("2004-08-19", "2013-03-01")
    assert cfg["Timeframe"] == "1Day" and cfg["File time zone"] == "America/New_York"
    assert cfg["Strategy"] == "sma_cross"
    assert "fast=10" in cfg["Parameters"] and "slow=20" in cfg["Parameters"]
    assert cfg["Cash"] == "10,000.00"
    assert cfg["Commission"] == "0.2% of notional" and cfg["Slippage"] == "0 bps"
    assert cfg["Sizing"] == "all_in" and cfg["Quantity step"] == "1"
    assert cfg["Short selling"] == "yes" and cfg["Money rounded to"] == "exact"
    assert cfg["Finalize open trade at the end"] == "no"
    assert cfg["Periods per year (annualising)"].startswith("252 ")
    assert cfg["Stopped early (equity reached zero)"] == "no: ran to the last bar"


def test_daily_run_marks_every_trade_on_the_price(goog: Run) -> None:
    price = goog.section("Price and trades")
    n, closed = len(goog.trades), len(_closed(goog))
    assert n == 94 and closed == 93  # the last trade is still open (no --finalize-trades)
    assert price.count('<g class="entry ') == n and price.count('<g class="exit ') == closed
    assert price.count('<g class="entry long"') == sum(t["side"] == "long" for t in goog.trades)
    # the crossover's two averages are drawn beside the close
    assert "SMA(10)" in price and "SMA(20)" in price and 'class="indicator"' in price
    first = goog.trades[0]
    tip = re.search(r'<g class="entry [a-z]+"><title>(.*?)</title>', price).group(1)
    assert tip.startswith(f"Trade 1: {first['side']} {first['max_qty']} GOOG; entry "
                          f"{first['entry_time'][:10]} at ")
    assert f"net P&amp;L {float(first['net_pnl']):,.2f}" in tip
    equity = goog.section("Equity and drawdown")
    for cls in ("dd-peak", "dd-trough", "dd-max"):
        assert equity.count(f'class="{cls}"') == 1
    stats = goog.json["stats"]
    assert stats["max_drawdown_peak"][:10] in equity and stats["max_drawdown_trough"][:10] in equity
    bars = goog.section("P&L per trade")
    assert bars.count('class="trade-pnl"') == closed


def test_daily_journal_in_dates_and_days(goog: Run) -> None:
    rows = goog.journal()
    assert len(rows) == len(goog.trades)
    for row, trade in zip(rows, goog.trades, strict=True):
        entry = pd.Timestamp(trade["entry_time"]).tz_convert("America/New_York")
        assert row["entry"] == entry.strftime("%Y-%m-%d")
        if trade["exit_time"]:
            assert re.fullmatch(r"\d{4}-\d\d-\d\d", row["exit"])
            assert re.fullmatch(r"\d+ days?", row["held"]), row["held"]
        else:
            assert row["exit"] == "open at the end" and row["held"] == ""
    assert "holding_seconds" not in goog.html and not re.search(r"\d\d:\d\d:\d\d",
                                                                goog.section("Trade journal"))
    # whole days for daily bars, not 44 days 23 h across a DST change
    assert goog.stats()["Average holding time"][0].endswith("days")


def test_daily_run_leaves_out_what_does_not_apply(goog: Run) -> None:
    tod = goog.section("By time of day")
    assert "<table" not in tod and "daily bars have no time of day" in tod
    pattern = goog.section("By pattern")
    assert "<table" not in pattern and "no trade was entered on a chart pattern" in pattern
    assert "<table" in goog.section("By side")
    _assert_nothing_empty(goog)


def test_statistics_carry_the_documented_definitions(goog: Run) -> None:
    doc = (ROOT / "docs" / "REPORTS.md").read_text()
    documented = dict(re.findall(r"^\| ([^|]+?) \| ([^|]+?) \|$", doc, re.M))
    documented.pop("Figure", None)
    assert documented == {label: definition for _, label, definition in STATS}
    shown = goog.section("Statistics")
    for _, label, definition in STATS:
        assert f"{escape(definition)}</td>" in shown, label
    stats, raw = goog.stats(), goog.json["stats"]
    assert stats["Sharpe ratio"] == (f"{raw['sharpe']:.4g}", "")
    assert stats["Closed trades"] == ("93", "") and stats["Open trades"] == ("1", "")
    assert stats["Max drawdown"][0] == f"{raw['max_drawdown'] * 100:.2f}%"


def test_short_file_says_not_enough_data(tmp_path: Path) -> None:
    short = tmp_path / "short.csv"
    short.write_text("".join(GOOG.read_text().splitlines(keepends=True)[:13]))
    run = _replay(tmp_path / "out", short, "GOOG", "--param", "fast=2", "--param", "slow=3")
    stats, reasons = run.stats(), run.json["stats"]["unavailable"]
    for label, key in (("Sharpe ratio", "sharpe"), ("Sortino ratio", "sortino"),
                       ("Volatility", "volatility"), ("Annualized return", "annualized_return")):
        assert stats[label] == (reasons[key], ' class="na"')
        assert reasons[key].startswith("not enough data: ")
    assert stats["Sharpe ratio"][0] == "not enough data: 11 daily return(s), needs 20"
    assert len(run.trades) >= 1
    _assert_nothing_empty(run)


def test_hourly_utc_run(eurusd: Run) -> None:
    cfg = eurusd.config()
    assert cfg["File time zone"] == "UTC" and cfg["Timeframe"] == "1h"
    assert cfg["Quantity step"] == "1000" and cfg["Slippage"] == "0.5 bps"
    assert cfg["Sizing"] == "percent:50" and cfg["Finalize open trade at the end"] == "yes"
    assert (cfg["First bar"], cfg["Bars"]) == ("2017-04-19 09:00", "5000")
    n = len(eurusd.trades)
    price = eurusd.section("Price and trades")
    assert n > 10 and len(_closed(eurusd)) == n  # finalized: every trade has its exit
    assert price.count('<g class="entry ') == n == price.count('<g class="exit ')
    rows = eurusd.journal()
    for row, trade in zip(rows, eurusd.trades, strict=True):
        assert row["entry"] == pd.Timestamp(trade["entry_time"]).strftime("%Y-%m-%d %H:%M")
        assert row["exit"] == pd.Timestamp(trade["exit_time"]).strftime("%Y-%m-%d %H:%M")
        # the price as filled (slippage adds a sixth decimal), never cut to two
        assert Decimal(row["entry price"].replace(",", "")) == Decimal(trade["entry_price"])
        assert re.fullmatch(r"(\d+ days?( \d+ h)?|\d+ h( \d+ min)?|\d+ min)", row["held"])
    assert "Times in UTC" in eurusd.section("Trade journal")
    tod = eurusd.section("By time of day (UTC")
    assert "<table" in tod
    _assert_nothing_empty(eurusd)


def test_intraday_equity_file_is_shown_in_new_york(tmp_path: Path) -> None:
    # EURUSD's first 400 hourly rows read as a New York file (the default zone of equities)
    src = tmp_path / "ny.csv"
    lines = EURUSD.read_text().splitlines(keepends=True)[:401]
    src.write_text("".join(lines))
    run = _replay(tmp_path / "out", src, "XYZ", "--timeframe", "1h", "--param", "fast=5",
                  "--param", "slow=12")
    assert run.config()["File time zone"] == "America/New_York"
    raw_times = {line.split(",")[0][:16] for line in lines[1:]}
    rows = run.journal()
    assert rows and "Times in America/New_York" in run.section("Trade journal")
    for row, trade in zip(rows, run.trades, strict=True):
        local = pd.Timestamp(trade["entry_time"]).tz_convert("America/New_York")
        assert row["entry"] == local.strftime("%Y-%m-%d %H:%M")
        assert row["entry"] in raw_times  # the file's own wall-clock time of the fill bar
    assert "By time of day (America/New_York" in "".join(run.sections)


def test_round_the_clock_market_is_shown_in_utc(tmp_path: Path) -> None:
    run = _replay(tmp_path / "out", BTCUSD, "BTCUSD", "--qty-step", "0.0001")
    assert "times are dates (UTC)" in run.html
    assert run.config()["Periods per year (annualising)"].startswith("12 ")
    _assert_nothing_empty(run)


@pytest.mark.parametrize("viewport", VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
@pytest.mark.parametrize("name", ["goog", "eurusd"])
def test_report_opens_offline_in_chromium(browser: Any, request: pytest.FixtureRequest,  # noqa: F811
                                          name: str, viewport: tuple[int, int]) -> None:
    run: Run = request.getfixturevalue(name)
    ctx = browser.new_context(viewport={"width": viewport[0], "height": viewport[1]})
    page = ctx.new_page()
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: m.type == "error" and errors.append(m.text))
    page.on("pageerror", lambda e: errors.append(f"pageerror: {e}"))
    page.on("request", lambda r: requests.append(r.url))
    url = run.path.resolve().as_uri()
    page.goto(url)
    page.wait_for_load_state("load")
    assert errors == [] and requests == [url]  # the file itself, nothing from the network
    assert page.locator("svg.price g.entry").count() == len(run.trades)
    assert page.locator("svg.price g.exit").count() == len(_closed(run))
    assert page.locator("table.journal tr").count() == len(run.trades) + 1
    # nothing wider than the window: the reader scrolls down, never sideways
    assert page.evaluate("document.documentElement.scrollWidth") <= viewport[0]
    box = page.locator("svg.price").bounding_box()
    assert box and box["width"] >= 0.6 * min(viewport[0], 1180) and box["height"] > 250
    tip = page.locator("svg.price g.entry title").first.text_content()
    assert tip and tip.startswith("Trade 1: ")
    ARTIFACTS.mkdir(exist_ok=True)
    tag = f"{name}-{viewport[0]}x{viewport[1]}"
    screenshot(page, f"report-{tag}")  # the whole page
    page.screenshot(path=str(ARTIFACTS / f"report-{tag}-top.png"))
    page.locator("svg.price").scroll_into_view_if_needed()
    page.screenshot(path=str(ARTIFACTS / f"report-{tag}-price.png"))
    ctx.close()


def test_live_report_without_a_run_configuration_has_no_empty_section() -> None:
    # reporting's /api/v1/report/export?format=html renders with no config and no bars
    from datetime import UTC, datetime, timedelta

    from shared.analytics import Fill, build_report, equity_series, export_files

    t0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)
    fills = [Fill(t0 + timedelta(minutes=5), "AAA", "buy", Decimal(10), Decimal("100.10"),
                  order_id="o1", fill_id="f1"),
             Fill(t0 + timedelta(minutes=140), "AAA", "sell", Decimal(10), Decimal("101.35"),
                  order_id="o2", fill_id="f2")]
    equity = equity_series([(t0 + timedelta(minutes=m), 10000 + m) for m in range(0, 200, 5)])
    run = Page(export_files(build_report(fills, equity), title="Live")["report.html"])
    assert "live paper account" in run.section("Run configuration")
    assert "No price chart" in run.section("Price and trades")
    row = run.journal()[0]
    # New York time without seconds: 14:35 UTC is 09:35 on a March day before DST
    assert (row["entry"], row["exit"], row["held"]) == ("2024-03-04 09:35", "2024-03-04 11:50",
                                                        "2 h 15 min")
    assert row["net P&L"] == "12.50"
    assert "By time of day (America/New_York" in "".join(run.sections)
    assert re.search(r"Generated at \d{4}-\d\d-\d\d \d\d:\d\d:\d\d UTC\.", run.html)
    _assert_nothing_empty(run)


def test_intraday_round_the_clock_file_read_in_new_york_is_shown_in_utc(tmp_path: Path) -> None:
    # hourly bars every day of the week (a coin), written in New York wall-clock time
    import numpy as np

    idx = pd.date_range("2024-01-05", periods=24 * 21, freq="h")  # no DST change
    rng = np.random.default_rng(7)
    close = 100 * np.exp(np.cumsum(rng.normal(0, 0.01, len(idx))))
    src = tmp_path / "coin.csv"
    pd.DataFrame({"Open": close, "High": close * 1.002, "Low": close * 0.998, "Close": close,
                  "Volume": 10}, index=idx.strftime("%Y-%m-%d %H:%M:%S")).to_csv(src)
    run = _replay(tmp_path / "out", src, "COIN", "--timeframe", "1h", "--qty-step", "0.0001",
                  "--param", "fast=5", "--param", "slow=20")
    cfg = run.config()
    assert cfg["File time zone"] == "America/New_York"
    assert cfg["Periods per year (annualising)"].startswith("365 ")
    # 2024-01-05 00:00 in New York is 05:00 UTC
    assert cfg["First bar"] == "2024-01-05 05:00" and "Times are in UTC." in run.html
    for row, trade in zip(run.journal(), run.trades, strict=True):
        assert row["entry"] == pd.Timestamp(trade["entry_time"]).strftime("%Y-%m-%d %H:%M")
    labels = re.findall(r'<td class="l">(\d\d:\d\d)</td>', run.section("By time of day (UTC"))
    entry_hours = {pd.Timestamp(t["entry_time"]).strftime("%H:00") for t in run.trades}
    assert set(labels) == entry_hours  # the breakdown's buckets are UTC too
    _assert_nothing_empty(run)


def test_a_run_stopped_at_zero_equity_says_so(tmp_path: Path) -> None:
    # short all-in on the fall, then the price jumps tenfold: equity reaches zero
    closes = [10, 10, 10, 10, 9, 8, 7, 7, 70, 80, 90, 100]
    idx = pd.bdate_range("2021-03-01", periods=len(closes))
    src = tmp_path / "squeeze.csv"
    pd.DataFrame({"Open": closes, "High": [c + 1 for c in closes],
                  "Low": [c - 1 for c in closes], "Close": closes, "Volume": 1000},
                 index=idx.strftime("%Y-%m-%d")).to_csv(src)
    run = _replay(tmp_path / "out", src, "SQZ", "--param", "fast=2", "--param", "slow=3")
    stopped = run.config()["Stopped early (equity reached zero)"]
    assert re.fullmatch(r"yes: equity reached zero at 2021-03-\d\d \(America/New_York\)",
                        stopped), stopped  # a date: the bars are daily
    assert run.json["stats"]["end_equity"] == "0"
    _assert_nothing_empty(run)
