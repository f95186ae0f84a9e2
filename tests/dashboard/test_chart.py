"""The symbol chart in a real browser against real services: the legend follows the cursor with
the API's values, fills and patterns are compact markers with details on hover, each fill sits
on the bar that holds its time (1m and 1d), no VWAP on daily bars, and one time zone (New York
by default, UTC as a toggle) for the header, the tables and the chart's axis."""
from __future__ import annotations

import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import pandas as pd
import pytest
import requests

from dashboard.charts import chart_payload, session_vwap
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
VIEWPORTS = [(1366, 768), (1920, 1080)]
NY = ZoneInfo("America/New_York")
# (clock to move to, side, qty): a buy on Jan 2, a sell on Jan 3 afternoon, one on Jan 4
TRADES = [("2024-01-02T15:00:00+00:00", "buy", "5"), ("2024-01-03T19:00:00+00:00", "sell", "2"),
          ("2024-01-04T14:50:00+00:00", "sell", "1")]
FINAL_CLOCK = "2024-01-04T15:30:00+00:00"
SMALL_UNIVERSE = 20  # AAPL among them; each move of the clock stores every symbol's bars



def _wait_fill(pt: str, n: int) -> list[dict[str, Any]]:
    deadline = time.monotonic() + 30
    while True:
        fills = requests.get(pt + "/api/v1/fills", params={"symbol": "AAPL"}, timeout=10).json()
        if len(fills["data"]) >= n:
            return fills["data"]
        assert time.monotonic() < deadline, f"only {len(fills['data'])} of {n} fills"
        time.sleep(0.2)


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """Paper trading, its stream server, pattern recognition and the dashboard; the automation
    traded AAPL at three times over three sessions (the clock moved as coordination moves it)."""
    from shared.db import Database, migrate
    from shared.market.clock import ClockController
    from tests.conftest import make_settings, own_market

    tmp = tmp_path_factory.mktemp("dash-chart")
    settings = make_settings(tmp, market__universe_size=SMALL_UNIVERSE)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset(paused=True)
    feed = own_market(settings, db, ctl.clock,
                      history_days={"1m": 2, "5m": 5, "1d": 45})
    s = Suite(tmp, {"TRADING__market__universe_size": str(SMALL_UNIVERSE)})
    try:
        for name in ("paper_trading", "paper_streams", "pattern_recognition", "pattern_analysis",
                     "dashboard"):
            s.start(name)
        pt = s.url("paper_trading")
        for n, (at, side, qty) in enumerate(TRADES, 1):
            ctl.advance(at)
            feed.catch_up()
            r = requests.post(pt + "/api/v1/orders", timeout=10, json={
                "symbol": "AAPL", "side": side, "qty": qty, "type": "market",
                "time_in_force": "day"})
            assert r.status_code == 201, r.text
            ctl.step(2)
            feed.catch_up()
            _wait_fill(pt, n)
        ctl.advance(FINAL_CLOCK)
        feed.catch_up()
        s.market = (ctl, feed)  # type: ignore[attr-defined]  # for the live-bar test
        yield s
    finally:
        s.stop_all()
        db.close()


@pytest.fixture(params=VIEWPORTS, ids=lambda v: f"{v[0]}x{v[1]}")
def page(request: pytest.FixtureRequest, browser: Any, suite: Suite) -> Iterator[Any]:
    """A fresh page at each viewport (its own storage: the zone starts at the default)."""
    w, h = request.param
    ctx = browser.new_context(viewport={"width": w, "height": h},
                              base_url=suite.url("dashboard"))
    pg = ctx.new_page()
    pg.console_errors = []
    pg.viewport_name = f"{w}"
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"pageerror: {e}"))
    pg.on("response", lambda r: r.status >= 400 and pg.console_errors.append(
        f"HTTP {r.status} {r.request.method} {r.url}"))
    yield pg
    ctx.close()


def _chart_api(suite: Suite, tf: str) -> dict[str, Any]:
    r = requests.get(suite.url("dashboard") + "/api/v1/chart/AAPL", params={"timeframe": tf},
                     timeout=20)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _fills(suite: Suite) -> list[dict[str, Any]]:
    r = requests.get(suite.url("paper_trading") + "/api/v1/fills", params={"symbol": "AAPL"},
                     timeout=10)
    return r.json()["data"]


def _open(page: Any, tf: str) -> None:
    page.goto(f"/symbol?symbol=AAPL&timeframe={tf}")
    until(page, "window.__chartBars > 0", 20)
    until(page, "window.__chartMarks && window.__chartMarks.length > 0", 20)
    page.wait_for_timeout(300)  # the chart lays out its panes


def _hover(page: Any, t: int, price: float | None = None) -> None:
    """Move the mouse over bar ``t`` (its UTC open), at ``price`` or the chart's middle."""
    box = page.eval_on_selector("#chart", "e => { const r = e.getBoundingClientRect();"
                                " return {x: r.x, y: r.y, h: r.height}; }")
    x = page.evaluate(f"window.__chartApi.x({t})")
    assert x is not None, f"bar {t} is not on the chart"
    y = page.evaluate(f"window.__chartApi.y({price})") if price is not None else box["h"] * 0.3
    page.mouse.move(box["x"] + x, box["y"] + y)
    until(page, f"document.querySelector('#chart-legend').dataset.time === '{t}'", 5)


def _legend(page: Any) -> dict[str, str]:
    return page.eval_on_selector_all(
        "#chart-legend [data-key]", "els => Object.fromEntries(els.map("
        "e => [e.dataset.key, e.dataset.value ?? e.textContent]))")


def _zone_label(page: Any) -> str:
    """The header's "Times: ..." as a person reads it: the whole zone name on a wide screen,
    its abbreviation (the whole name in the title) on a narrow one."""
    said = page.inner_text("#tz-toggle").replace("\n", " ")
    title = page.get_attribute("#tz-toggle", "title") or ""
    wide = page.viewport_size["width"] > 1500
    name = said.removeprefix("Times: ")
    assert said.startswith("Times: ")
    if wide:
        return name
    full = {"ET": "New York (ET)", "UTC": "UTC"}[name]
    assert f"is {full};" in title, title
    return full


def _expected_bar(candles: list[dict[str, Any]], fill: dict[str, Any], interval: int) -> int:
    """The bar whose interval holds the minute the fill executed in (daily: its session)."""
    if interval == 86400:
        hits = [c["time"] for c in candles
                if datetime.fromtimestamp(c["time"], NY).date().isoformat() == fill["session"]]
    else:
        minute = datetime.fromisoformat(fill["bar_ts"]).timestamp()
        hits = [c["time"] for c in candles if c["time"] <= minute < c["time"] + interval]
    return hits[0] if hits else -1


# ---- pure parts ---------------------------------------------------------------------------
def test_vwap_resets_each_session_and_is_not_sent_for_daily_bars() -> None:
    idx = pd.DatetimeIndex([*pd.date_range("2024-01-02 14:30", periods=60, freq="1min"),
                            *pd.date_range("2024-01-03 14:30", periods=60, freq="1min")], tz="UTC")
    rng = np.random.default_rng(3)
    close = 100 + np.cumsum(rng.normal(0, 0.2, len(idx)))
    df = pd.DataFrame({"open": close, "high": close + 0.3, "low": close - 0.3, "close": close,
                       "volume": rng.integers(100, 1000, len(idx)).astype(float)}, index=idx)
    vwap = session_vwap(df)
    typical = ((df.high + df.low + df.close) / 3).to_numpy()
    vol = df.volume.to_numpy()
    # the second session's first VWAP is its own first bar's typical price: nothing carried over
    assert vwap[60] == pytest.approx(typical[60])
    assert vwap[-1] == pytest.approx((typical[60:] * vol[60:]).sum() / vol[60:].sum())
    assert "VWAP" in chart_payload(df, bars=50, timeframe="1m")["overlays"]
    days = pd.date_range("2023-06-01 04:00", periods=60, freq="1D", tz="UTC")
    daily = df.iloc[:60].set_axis(days)
    out = chart_payload(daily, bars=50, timeframe="1d")
    assert "VWAP" not in out["overlays"] and out["interval_s"] == 86400
    assert {"SMA 20", "EMA 9", "BB upper"} <= set(out["overlays"])


# ---- in the browser -----------------------------------------------------------------------
def test_legend_follows_the_cursor_with_the_apis_values(page: Any, suite: Suite) -> None:
    _open(page, "5m")
    data = _chart_api(suite, "5m")
    candles = data["candles"]
    # off the chart: the last bar's values
    legend = _legend(page)
    last = candles[-1]
    assert page.eval_on_selector("#chart-legend", "e => e.dataset.hover") == "false"
    assert float(legend["close"]) == last["close"] and float(legend["open"]) == last["open"]
    i = len(candles) - 40
    bar = candles[i]
    _hover(page, bar["time"])
    legend = _legend(page)
    for k in ("open", "high", "low", "close"):
        assert float(legend[k]) == bar[k], k
    assert float(legend["volume"]) == data["volume"][i]["value"]
    for name in ("SMA 20", "EMA 9", "VWAP"):
        want = {p["time"]: p["value"] for p in data["overlays"][name]}[bar["time"]]
        assert float(legend[name]) == want, name
    assert float(legend["RSI 14"]) == {p["time"]: p["value"] for p in data["rsi"]}[bar["time"]]
    assert float(legend["MACD"]) == {p["time"]: p["value"]
                                     for p in data["macd"]["macd"]}[bar["time"]]
    # the legend's time is the bar's open in New York time (the default zone)
    et = datetime.fromtimestamp(bar["time"], NY).strftime("%Y-%m-%d %H:%M")
    assert page.inner_text("#chart-legend [data-key=time]").startswith(f"{et} ET")
    assert "Bollinger" not in _legend(page) and "BB upper" not in _legend(page)  # not drawn
    screenshot(page, f"chart-legend-{page.viewport_name}")
    page.mouse.move(5, 5)  # off the chart: back to the last bar
    until(page, "document.querySelector('#chart-legend').dataset.hover === 'false'")
    assert float(_legend(page)["close"]) == last["close"]
    assert page.console_errors == []


@pytest.mark.parametrize("tf", ["1m", "5m", "1h", "1d"])
def test_fills_sit_on_the_bar_holding_their_time_with_details_on_hover(
        page: Any, suite: Suite, tf: str) -> None:
    _open(page, tf)
    data = _chart_api(suite, tf)
    candles, interval = data["candles"], data["interval_s"]
    fills = _fills(suite)
    assert len(fills) == 3
    marks = page.evaluate("window.__chartMarks")
    placed = {f["id"]: g["time"] for g in marks for f in g["fills"]}
    expected = {f["order_id"]: _expected_bar(candles, f, interval) for f in fills}
    assert {k: v for k, v in expected.items() if v >= 0} == placed
    if tf == "1d":
        # Jan 2 and Jan 3 on their own days (Jan 2 is not the last bar); Jan 4 not closed yet
        days = {datetime.fromtimestamp(t, NY).date().isoformat() for t in placed.values()}
        assert days == {"2024-01-02", "2024-01-03"}
        assert sorted(placed.values())[0] < candles[-1]["time"]
    elif tf == "1m":
        assert len(placed) == 2  # Jan 3 afternoon and Jan 4 are among the 1m bars shown
    else:  # every fill among the bars shown, each on its own bar: nothing piled on the last one
        assert len(placed) == 3 and len(set(placed.values())) == 3
    assert ("outside the bars shown" in page.inner_text("#chart-marks-note")) == (len(placed) < 3)
    # hover each fill's bar: its side, qty, price, time and order id
    for f in fills:
        t = placed.get(f["order_id"])
        if t is None:
            continue
        bar = next(c for c in candles if c["time"] == t)
        _hover(page, t, bar["high"] if f["side"] == "sell" else bar["low"])
        tip = page.locator("#chart-tip")
        tip.wait_for(state="visible", timeout=5_000)
        text = tip.inner_text()
        side = "BUY" if f["side"] == "buy" else "SELL"
        price = f"{float(f['price']):,.2f}"
        at = datetime.fromisoformat(f["filled_at"]).astimezone(NY).strftime("%Y-%m-%d %H:%M:%S")
        assert f"{side} {int(float(f['qty']))} @ {price} · {at}" in text, text
        assert f["order_id"] in text
        screenshot(page, f"chart-fill-{tf}-{page.viewport_name}")
    # compact markers: no marker carries more than a count as text
    texts = page.evaluate("window.__chartApi.markerTexts()")
    assert texts and all(len(x) <= 3 for x in texts), texts
    assert page.console_errors == []


def test_pattern_markers_show_name_and_reliability_on_hover(page: Any, suite: Suite) -> None:
    _open(page, "5m")
    marks = page.evaluate("window.__chartMarks")
    with_patterns = [g for g in marks if g["patterns"] or g["candles"]]
    assert with_patterns, "no candlestick pattern marker on the 5m chart"
    # the newest bar with a candlestick pattern (chart patterns may share it)
    g = next(g for g in reversed(with_patterns) if g["candles"])
    _hover(page, g["time"])
    tip = page.locator("#chart-tip")
    tip.wait_for(state="visible", timeout=5_000)
    lines = page.eval_on_selector_all("#chart-tip [data-kind=pattern]", "els => els.map(e => e.innerText)")
    assert len(lines) == g["patterns"] + g["candles"]
    chart = [x for x in lines if "chart pattern" in x]
    lines = [x for x in lines if "chart pattern" not in x]
    assert lines, "no candlestick pattern on the hovered bar"
    # a chart pattern (pattern analysis) says its own confidence
    confidences = {round(d["confidence"] * 100) for d in requests.get(
        suite.url("pattern_analysis") + "/api/v1/patterns/AAPL", params={"timeframe": "5m"},
        timeout=30).json()["data"]["detections"]}
    for x in chart:
        m = re.search(r"confidence (\d+)%", x)
        assert m and int(m[1]) in confidences, x
    # the reliability said is pattern recognition's walk-forward hit rate (middle horizon)
    stats = requests.get(suite.url("pattern_recognition") + "/api/v1/candlesticks/stats",
                         params={"timeframe": "5m", "group_by": "direction"},
                         timeout=20).json()["data"]
    h = str(sorted(stats["horizons"])[len(stats["horizons"]) // 2])
    by_name = {(x["pattern"].removeprefix("CDL").lower(), x["direction"]): x["horizons"].get(h)
               for x in stats["groups"]}
    checked = 0
    for line in lines:
        m = re.search(r"[▲▼] (\S+) \((bullish|bearish) candlestick\)\s+reliability: "
                      r"(?:(\d+)% right over the next (\d+) bars?, (\d+) past case|no outcomes)", line)
        assert m, line
        st = by_name.get((m[1], m[2]))
        if m[3] is None:
            assert not st or not st["samples"], line
            continue
        assert m[4] == h and int(m[5]) == st["samples"], line
        assert abs(int(m[3]) - st["hit_rate"] * 100) <= 0.5, line
        checked += 1
    print(f"{checked} of {len(lines)} pattern lines carried a hit rate")
    # the newest bar with a chart pattern, when pattern analysis found one in the bars shown
    g = next((g for g in reversed(with_patterns) if g["patterns"]), None)
    if g is not None:
        _hover(page, g["time"])
        tip.wait_for(state="visible", timeout=5_000)
        chart = page.eval_on_selector_all("#chart-tip [data-kind=pattern]",
                                          "els => els.map(e => e.innerText)")
        chart = [x for x in chart if "chart pattern" in x]
        assert len(chart) == g["patterns"]
        for x in chart:
            m = re.search(r"confidence (\d+)%", x)
            assert m and int(m[1]) in confidences, x
        print(f"{len(chart)} chart pattern line(s) said their confidence")
    screenshot(page, f"chart-pattern-{page.viewport_name}")
    assert page.console_errors == []


def test_support_and_resistance_are_the_nearest_few_each_side(page: Any, suite: Suite) -> None:
    _open(page, "5m")
    r = requests.get(suite.url("pattern_analysis") + "/api/v1/levels/AAPL",
                     params={"timeframe": "5m"}, timeout=30)
    assert r.status_code == 200, r.text
    levels = [float(x["price"]) for x in r.json()["data"]["levels"]]
    last = _chart_api(suite, "5m")["candles"][-1]["close"]
    above = sorted((p for p in levels if p >= last), key=lambda p: p - last)[:3]
    below = sorted((p for p in levels if p < last), key=lambda p: last - p)[:3]
    assert above or below, "pattern analysis found no level"
    want = sorted([("R", p) for p in above] + [("S", p) for p in below])
    got = until(page, f"window.__chartApi.levels().length === {len(want)} && "
                       "window.__chartApi.levels()", 20)
    assert sorted((t, p) for t, p in got) == want
    assert page.console_errors == []


def test_no_vwap_on_daily_bars(page: Any, suite: Suite) -> None:
    _open(page, "1d")
    assert "VWAP" not in _chart_api(suite, "1d")["overlays"]
    assert page.evaluate("window.__chartApi.points('VWAP')") == 0
    assert page.is_disabled("[data-ov=VWAP]")
    assert "VWAP" not in _legend(page)
    page.click("#tfs button[data-tf='5m']")
    until(page, "window.__chartApi.points('VWAP') > 0", 20)
    assert not page.is_disabled("[data-ov=VWAP]")
    page.wait_for_selector("#chart-legend [data-key=VWAP]")
    assert page.console_errors == []


def test_time_zone_toggle_moves_header_tables_and_axis_together(page: Any, suite: Suite) -> None:
    fill = _fills(suite)[0]
    filled = datetime.fromisoformat(fill["filled_at"])
    page.goto("/trading")
    page.wait_for_selector("#hdr-clock b")
    toggle = page.locator("[data-testid=tz-toggle]")
    assert _zone_label(page) == "New York (ET)"
    now = datetime.fromisoformat(page.eval_on_selector("#hdr-clock", "e => e.dataset.now"))
    assert page.inner_text("#hdr-clock b") == now.astimezone(NY).strftime("%Y-%m-%d %H:%M:%S")
    et_fill = filled.astimezone(NY).strftime("%Y-%m-%d %H:%M:%S")
    utc_fill = filled.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    page.wait_for_selector(f"text={et_fill}", timeout=15_000)  # the fills table
    screenshot(page, f"tz-trading-et-{page.viewport_name}")
    toggle.click()
    page.wait_for_selector("#tz-toggle[data-zone=utc]")
    assert _zone_label(page) == "UTC"
    page.wait_for_selector("#hdr-clock b")
    assert page.inner_text("#hdr-clock b") == now.astimezone(UTC).strftime("%Y-%m-%d %H:%M:%S")
    assert " UTC · " in page.inner_text("#hdr-clock")
    page.wait_for_selector(f"text={utc_fill}", timeout=15_000)
    assert page.locator(f"text={et_fill}").count() == 0
    screenshot(page, f"tz-trading-utc-{page.viewport_name}")
    # the chart's axis in the same zone, persisted for this browser
    _open(page, "5m")
    t = page.evaluate("window.__chartBars") and _chart_api(suite, "5m")["candles"][-1]["time"]
    assert page.evaluate(f"window.__chartApi.shown({t})") == t
    assert page.evaluate(f"window.__chartApi.axisLabel(window.__chartApi.shown({t}))") == \
        datetime.fromtimestamp(t, UTC).strftime("%Y-%m-%d %H:%M")
    page.locator("[data-testid=tz-toggle]").click()
    page.wait_for_selector("#tz-toggle[data-zone=exchange]")
    until(page, "window.__chartBars > 0", 20)
    offset = int(datetime.fromtimestamp(t, NY).utcoffset().total_seconds())  # type: ignore[union-attr]
    assert offset == -5 * 3600 and page.evaluate(f"window.__chartApi.shown({t})") == t + offset
    assert page.evaluate(f"window.__chartApi.axisLabel(window.__chartApi.shown({t}))") == \
        datetime.fromtimestamp(t, NY).strftime("%Y-%m-%d %H:%M")
    screenshot(page, f"tz-chart-et-{page.viewport_name}")
    assert page.console_errors == []


def test_every_page_names_one_zone_and_writes_times_in_it(page: Any, suite: Suite) -> None:
    """The header says the zone once; no page labels its own times UTC in exchange time, and
    the header clock is the clock's instant in New York time."""
    from dashboard.pages import PAGES

    for name, path, _title in PAGES:
        page.goto(path)
        page.wait_for_selector("#hdr-clock b", timeout=10_000)
        assert _zone_label(page) == "New York (ET)", name
        now = datetime.fromisoformat(page.eval_on_selector("#hdr-clock", "e => e.dataset.now"))
        assert page.inner_text("#hdr-clock b") == now.astimezone(NY).strftime(
            "%Y-%m-%d %H:%M:%S"), name
        page.wait_for_timeout(700)  # the page's first reads
        text = page.inner_text("main")
        assert "UTC" not in text, f"{name} still labels a time UTC: " + text[
            max(0, text.find("UTC") - 80):text.find("UTC") + 20]
        screenshot(page, f"tz-{name}-{page.viewport_name}")
        assert page.console_errors == [], name


def test_a_new_bar_keeps_the_traders_zoom(page: Any, suite: Suite) -> None:
    """(Last in this module: it moves the clock.) The live stream's clock brings a new 5m bar:
    the chart reloads with it and keeps the range the trader zoomed to."""
    _open(page, "5m")
    last = page.evaluate("window.__chartLast")
    page.evaluate("window.__chartApi.zoom(100, 160)")  # resolves once the chart has drawn it
    assert [round(x) for x in page.evaluate("window.__chartApi.logical()")] == [100, 160]
    before = page.evaluate("window.__chartApi.range()")
    ctl, feed = suite.market  # type: ignore[attr-defined]
    ctl.step(5)
    feed.catch_up()
    until(page, f"window.__chartLast > {last}", 45)  # the stream's clock, then the reload
    after = page.evaluate("window.__chartApi.range()")
    assert after == before, (before, after)
    screenshot(page, f"chart-zoom-kept-{page.viewport_name}")
    assert page.console_errors == []
