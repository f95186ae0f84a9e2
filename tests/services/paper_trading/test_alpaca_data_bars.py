"""The unmodified alpaca-py SDK's bars, latest bars and snapshots against the paper-trading app
served on loopback, on the built-in market stored by its owner (as coordination's feed does).

Every derived bar is checked against the stored bars it combines; nothing after the market
clock's now is ever served.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.requests import (
        StockBarsRequest,
        StockLatestBarRequest,
        StockSnapshotRequest,
    )
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from services.paper_trading import create_app
from shared.db import Database, migrate
from tests.conftest import make_settings, own_market, serve
from tests.services.paper_trading.helpers import Clock

NY = "America/New_York"
#: Wednesday 2024-03-06 12:03 New York (EST): the market is stored up to here
T = datetime(2024, 3, 6, 17, 3, tzinfo=UTC)
HISTORY = {"1m": 3, "5m": 3, "15m": 3, "1h": 10, "1d": 200}


class Market:
    """The served app, its database and the clock the app reads."""

    def __init__(self, url: str, db: Database, clock: Clock) -> None:
        self.url, self.db, self.clock = url, db, clock
        self.data = StockHistoricalDataClient("k", "s", url_override=url)
        self.data._retry = 0

    def stored(self, symbol: str, timeframe: str, lo: datetime, hi: datetime) -> list[Any]:
        """Return the stored bars opening in ``[lo, hi)`` (ts as datetime, micros)."""
        rows = self.db.fetch_all(
            "SELECT ts, open_micros, high_micros, low_micros, close_micros, volume, "
            "vwap_micros, trade_count FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? "
            "AND ts < ? ORDER BY ts", (symbol, timeframe, _iso(lo), _iso(hi)))
        return [(datetime.fromisoformat(r[0]), *r[1:]) for r in rows]

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.url + path, params=params, timeout=30)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    from shared.market import ClockController

    settings = make_settings(tmp_path_factory.mktemp("alpaca_data"), market__universe_size=12,
                             market__crypto_symbols=["BTC/USD"])
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.advance(T)
    own_market(settings, db, ctl.clock, history_days=HISTORY)
    clock = Clock(T)
    with serve(create_app(settings, now=clock)) as url:
        yield Market(url, db, clock)
    db.close()


@pytest.fixture
def mkt(market: Market) -> Market:
    market.clock.t = T
    return market


def combine(rows: list[Any]) -> tuple[float, float, float, float, int, int | None, float]:
    """Return what one bar made of ``rows`` must hold: o, h, l, c, v, n, vwap."""
    v = sum(r[5] for r in rows)
    n = None if any(r[7] is None for r in rows) else sum(r[7] for r in rows)
    vw = sum(r[6] * r[5] for r in rows) / v / 1e6
    return (rows[0][1] / 1e6, max(r[2] for r in rows) / 1e6, min(r[3] for r in rows) / 1e6,
            rows[-1][4] / 1e6, v, n, vw)


def as_tuple(b: Any) -> tuple[float, float, float, float, int, int | None, float]:
    return (b.open, b.high, b.low, b.close, int(b.volume),
            None if b.trade_count is None else int(b.trade_count), b.vwap)


def check_bars(mkt: Market, bars: list[Any], src: str, width: Any, vwap_tol: float = 5e-7
               ) -> None:
    """Each bar equals the stored ``src`` bars in ``[t, t + width(t))`` combined (the vwap to
    6 places, or ``vwap_tol`` when built from stored bars whose vwap the owner rounded)."""
    assert bars
    for b in bars:
        rows = mkt.stored(b.symbol, src, b.timestamp, width(b.timestamp))
        got, want = as_tuple(b), combine(rows)
        assert got[:6] == want[:6], (b.timestamp, got, want)
        assert got[6] == pytest.approx(want[6], abs=vwap_tol)


def sdk_bars(mkt: Market, symbol: str, tf: TimeFrame, start: datetime,
             end: datetime | None = None) -> list[Any]:
    got = mkt.data.get_stock_bars(StockBarsRequest(symbol_or_symbols=symbol, timeframe=tf,
                                                   start=start, end=end))
    return got.data.get(symbol, [])


def test_minute_bars_combine_the_one_minute_bars_and_stop_at_now(mkt: Market) -> None:
    day = datetime(2024, 3, 6, 14, 30, tzinfo=UTC)
    two = sdk_bars(mkt, "AAPL", TimeFrame(2, TimeFrameUnit.Minute), day)
    check_bars(mkt, two, "1m", lambda t: t + timedelta(minutes=2))
    # 09:30 to 12:02 New York: the 12:02 bar is still open at 12:03
    assert two[0].timestamp == day and two[-1].timestamp == T - timedelta(minutes=3)
    assert len(two) == 76
    # a size that does not divide the hour: buckets tile the New York day from midnight
    seven = sdk_bars(mkt, "JPM", TimeFrame(7, TimeFrameUnit.Minute), day - timedelta(minutes=3))
    midnight = datetime(2024, 3, 6, 5, 0, tzinfo=UTC)
    assert all((b.timestamp - midnight) % timedelta(minutes=7) == timedelta(0) for b in seven)
    assert seven[0].timestamp == day - timedelta(minutes=3)  # 09:27 holds 09:30-09:33
    check_bars(mkt, seven, "1m", lambda t: t + timedelta(minutes=7))
    assert seven[-1].timestamp + timedelta(minutes=7) <= T
    # sizes built from the stored 5m and 15m bars agree with the one-minute bars
    for n in (10, 30, 45):
        bars = sdk_bars(mkt, "AAPL", TimeFrame(n, TimeFrameUnit.Minute), day)
        check_bars(mkt, bars, "1m", lambda t, n=n: t + timedelta(minutes=n), 1e-4)
        assert bars[-1].timestamp + timedelta(minutes=n) <= T


def test_hour_bars_are_aligned_on_new_york_hours(mkt: Market) -> None:
    start = datetime(2024, 3, 4, 5, 0, tzinfo=UTC)
    four = sdk_bars(mkt, "AAPL", TimeFrame(4, TimeFrameUnit.Hour), start)
    # 08:00 (09:30-12:00) and 12:00 (12:00-16:00) New York, EST; today's 12:00 bar is open
    assert [b.timestamp.astimezone(UTC).hour for b in four] == [13, 17, 13, 17, 13]
    # built from the stored hour bars, whose vwap the owner rounded to 4 places
    check_bars(mkt, four, "1m", lambda t: t + timedelta(hours=4), 1e-4)
    two = sdk_bars(mkt, "JPM", TimeFrame(2, TimeFrameUnit.Hour), start)
    check_bars(mkt, two, "1m", lambda t: t + timedelta(hours=2), 1e-4)
    assert two[-1].timestamp == datetime(2024, 3, 6, 15, 0, tzinfo=UTC)  # 10:00-12:00 closed
    one = sdk_bars(mkt, "JPM", TimeFrame.Hour, start)  # as stored: the 09:00 bar opens 09:30
    check_bars(mkt, one, "1m", lambda t: t + timedelta(hours=1), 1e-4)


def test_week_and_month_bars_combine_the_daily_bars(mkt: Market) -> None:
    start = datetime(2024, 1, 1, tzinfo=UTC)
    weeks = sdk_bars(mkt, "AAPL", TimeFrame.Week, start)
    # weeks start on Monday 00:00 New York (the holiday Monday 2024-01-01 too); this week
    # (from 2024-03-04) is not over at the clock's now
    assert weeks[0].timestamp == datetime(2024, 1, 1, 5, 0, tzinfo=UTC)
    assert weeks[-1].timestamp == datetime(2024, 2, 26, 5, 0, tzinfo=UTC)
    assert all(b.timestamp.astimezone(UTC).weekday() == 0 for b in weeks) and len(weeks) == 9
    check_bars(mkt, weeks, "1d", lambda t: t + timedelta(days=7))
    months = sdk_bars(mkt, "JPM", TimeFrame.Month, start)
    assert [b.timestamp for b in months] == [datetime(2024, 1, 1, 5, 0, tzinfo=UTC),
                                             datetime(2024, 2, 1, 5, 0, tzinfo=UTC)]
    check_bars(mkt, months, "1d", lambda t: datetime(t.year, t.month + 1, 1, 5, tzinfo=UTC))
    quarter = sdk_bars(mkt, "AAPL", TimeFrame(3, TimeFrameUnit.Month),
                       datetime(2023, 10, 1, tzinfo=UTC))
    assert [b.timestamp for b in quarter] == [datetime(2023, 10, 1, 4, 0, tzinfo=UTC)]  # EDT
    check_bars(mkt, quarter, "1d", lambda t: datetime(2024, 1, 1, 5, tzinfo=UTC))
    # the raw API also takes Alpaca's 4Month and short forms (the SDK refuses 4Month)
    raw = mkt.get("/v2/stocks/bars", symbols="AAPL", timeframe="4M",
                  start="2023-09-01T00:00:00Z").json()
    assert [b["t"] for b in raw["bars"]["AAPL"]] == ["2023-09-01T04:00:00Z"]
    assert mkt.get("/v2/stocks/bars", symbols="AAPL", timeframe="1W",
                   start="2024-01-01T00:00:00Z").json()["bars"]["AAPL"][0]["t"] == \
        "2024-01-01T05:00:00Z"


def test_the_week_is_served_once_its_last_session_closed(mkt: Market) -> None:
    friday_close = datetime(2024, 3, 1, 21, 0, tzinfo=UTC)
    start = datetime(2024, 2, 26, tzinfo=UTC)
    mkt.clock.t = friday_close - timedelta(minutes=1)
    assert sdk_bars(mkt, "AAPL", TimeFrame.Week, start) == []
    mkt.clock.t = friday_close
    week = sdk_bars(mkt, "AAPL", TimeFrame.Week, start)
    assert [b.timestamp for b in week] == [datetime(2024, 2, 26, 5, 0, tzinfo=UTC)]
    check_bars(mkt, week, "1d", lambda t: t + timedelta(days=7))


def test_pages_follow_tokens_across_symbols(mkt: Market) -> None:
    syms = ["AAPL", "JPM", "SPY"]
    start = datetime(2024, 3, 5, 14, 30, tzinfo=UTC)
    want = {s: [r[0] for r in mkt.stored(s, "1m", start, T)] for s in syms}
    seen: dict[str, list[str]] = {s: [] for s in syms}
    token, pages = None, 0
    while True:  # the raw API, 100 bars a page: symbols in order, each page's token resumes
        body = mkt.get("/v2/stocks/bars", symbols="SPY,JPM,AAPL", timeframe="1Min",
                       start=_iso(start), limit=100, **({"page_token": token} if token else {})
                       ).json()
        pages += 1
        for s, bars in body["bars"].items():
            seen[s] += [b["t"] for b in bars]
        token = body["next_page_token"]
        if token is None:
            break
    total = sum(len(v) for v in want.values())
    assert pages == -(-total // 100)
    assert seen == {s: [t.strftime("%Y-%m-%dT%H:%M:%SZ") for t in v] for s, v in want.items()}
    # the SDK, past its 10,000-bar page: every one-minute bar of all 13 symbols, once
    every = mkt.data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols=[r[0] for r in mkt.db.fetch_all("SELECT symbol FROM symbols")],
        timeframe=TimeFrame.Minute, start=datetime(2024, 3, 4, tzinfo=UTC)))
    n = mkt.db.fetch_one("SELECT COUNT(*) FROM bars WHERE timeframe = '1m' AND ts < ?",
                         (_iso(T - timedelta(minutes=1)),))[0] + 13
    assert sum(len(v) for v in every.data.values()) == n > 10_000
    # descending, two symbols, a limit the SDK stops at
    desc = mkt.data.get_stock_bars(StockBarsRequest(
        symbol_or_symbols=["JPM", "AAPL"], timeframe=TimeFrame(2, TimeFrameUnit.Minute),
        start=start, limit=30, sort="desc"))
    times = [b.timestamp for b in desc.data["AAPL"]]
    assert len(times) == 30 and times == sorted(times, reverse=True) and "JPM" not in desc.data


def test_bad_input_is_an_alpaca_error(mkt: Market) -> None:
    for tf in ("2Day", "60Min", "24Hour", "5Month", "2Week", "1Year", "Min"):
        r = mkt.get("/v2/stocks/bars", symbols="AAPL", timeframe=tf)
        assert r.status_code == 422 and r.json()["code"] == 42210000, (tf, r.text)
        assert "timeframe" in r.json()["message"]
    r = mkt.get("/v2/stocks/bars", symbols="AAPL", timeframe="1Min", page_token="garbage!")
    assert r.status_code == 400 and r.json()["code"] == 40010001
    r = mkt.get("/v2/stocks/bars", symbols="AAPL", timeframe="2Min", start="yesterday")
    assert r.status_code == 400 and r.json()["code"] == 40010001
    r = mkt.get("/v2/stocks/bars", symbols="AAPL", timeframe="2Min",
                start="2023-01-01T00:00:00Z")  # a year of minute bars in one read
    assert r.status_code == 400 and "62 days" in r.json()["message"]
    r = mkt.get("/v2/stocks/bars/latest", symbols="NOPE")
    assert r.status_code == 404 and r.json()["code"] == 40410000
    r = mkt.get("/v2/stocks/snapshots")
    assert r.status_code == 400 and r.json()["message"]


def test_latest_bar_is_the_last_closed_minute(mkt: Market) -> None:
    got = mkt.data.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols=["AAPL", "JPM"]))
    for sym in ("AAPL", "JPM"):
        (row,) = mkt.stored(sym, "1m", T - timedelta(minutes=1), T)
        assert got[sym].timestamp == T - timedelta(minutes=1)
        assert as_tuple(got[sym])[:6] == combine([row])[:6]
    mkt.clock.t = T - timedelta(minutes=30, seconds=20)
    got = mkt.data.get_stock_latest_bar(StockLatestBarRequest(symbol_or_symbols="AAPL"))
    assert got["AAPL"].timestamp == T - timedelta(minutes=32)


def test_snapshot_as_seen_at_the_clock(mkt: Market) -> None:
    snap = mkt.data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols=["AAPL", "JPM"]))
    assert set(snap) == {"AAPL", "JPM"}
    s = snap["AAPL"]
    (last,) = mkt.stored("AAPL", "1m", T - timedelta(minutes=1), T)
    assert s.minute_bar.timestamp == last[0] and s.minute_bar.close == last[4] / 1e6
    # the running session: its minute bars closed by now, stamped 00:00 New York
    today = mkt.stored("AAPL", "1m", datetime(2024, 3, 6, 5, tzinfo=UTC), T)
    assert s.daily_bar.timestamp == datetime(2024, 3, 6, 5, 0, tzinfo=UTC)
    assert as_tuple(s.daily_bar)[:6] == combine(today)[:6]
    (prev,) = mkt.stored("AAPL", "1d", datetime(2024, 3, 5, tzinfo=UTC), T)
    assert as_tuple(s.previous_daily_bar)[:6] == combine([prev])[:6]
    assert s.latest_trade.price == last[4] / 1e6
    assert s.latest_trade.timestamp == T - timedelta(seconds=1)
    assert s.latest_quote.bid_price < s.latest_trade.price < s.latest_quote.ask_price
    assert snap["JPM"].latest_trade.tape == "A" and s.latest_trade.tape == "C"  # NYSE, NASDAQ
    # before Wednesday's open: Tuesday's close is the latest, Monday's the previous day
    mkt.clock.t = datetime(2024, 3, 6, 14, 0, tzinfo=UTC)
    s = mkt.data.get_stock_snapshot(StockSnapshotRequest(symbol_or_symbols="AAPL"))["AAPL"]
    assert s.minute_bar.timestamp == datetime(2024, 3, 5, 20, 59, tzinfo=UTC)
    assert s.daily_bar.timestamp == datetime(2024, 3, 5, 5, 0, tzinfo=UTC)
    assert s.previous_daily_bar.timestamp == datetime(2024, 3, 4, 5, 0, tzinfo=UTC)
    assert as_tuple(s.daily_bar)[:6] == combine([prev])[:6]
    assert s.latest_trade.timestamp == datetime(2024, 3, 5, 20, 59, 59, tzinfo=UTC)
