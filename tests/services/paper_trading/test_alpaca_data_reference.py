"""The unmodified alpaca-py SDK's historical trades and quotes (synthesized from the one-minute
bars), the whole calendar, the asset filters and each asset's and position's exchange."""
from __future__ import annotations

import warnings
from datetime import UTC, date, datetime, timedelta

import pytest

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.data.requests import (
        StockLatestQuoteRequest,
        StockLatestTradeRequest,
        StockQuotesRequest,
        StockTradesRequest,
    )
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import AssetClass, AssetExchange, AssetStatus, OrderSide
    from alpaca.trading.enums import TimeInForce as Tif
    from alpaca.trading.requests import GetAssetsRequest, MarketOrderRequest

from tests.services.paper_trading import test_alpaca_data_bars as _bars
from tests.services.paper_trading.test_alpaca_data_bars import Market, T

#: the same served market (built once for this module too)
market, mkt = _bars.market, _bars.mkt

OPEN = datetime(2024, 3, 6, 14, 30, tzinfo=UTC)


def expected_prints(row: tuple) -> list[tuple[datetime, float, int]]:
    """The model of marketdata_ticks, written out independently for one stored bar."""
    ts, o, h, lo, c, v = row[:6]
    if v == 0:
        return []
    if v < 4:
        return [(ts + timedelta(seconds=59), c / 1e6, v)]
    path = (o, lo, h, c) if c >= o else (o, h, lo, c)
    sizes = (v // 4, v // 4, v // 4, v - 3 * (v // 4))
    return [(ts + timedelta(seconds=s), p / 1e6, n)
            for s, p, n in zip((0, 20, 40, 59), path, sizes, strict=True)]


def test_trades_follow_the_minute_bars_and_stop_at_now(mkt: Market) -> None:
    mkt.clock.t = OPEN + timedelta(minutes=5, seconds=30)
    got = mkt.data.get_stock_trades(StockTradesRequest(
        symbol_or_symbols="AAPL", start=OPEN, end=OPEN + timedelta(hours=1)))["AAPL"]
    rows = mkt.stored("AAPL", "1m", OPEN, OPEN + timedelta(minutes=5))  # closed by now
    want = [p for r in rows for p in expected_prints(r)]
    assert [(t.timestamp, t.price, int(t.size)) for t in got] == want and len(want) == 20
    assert all(t.exchange == "V" and t.tape == "C" and t.conditions == ["@"] for t in got)
    assert [t.id for t in got] == sorted({t.id for t in got})
    assert sum(t.size for t in got) == sum(r[5] for r in rows)
    assert max(t.timestamp for t in got) < mkt.clock.t
    # the latest trade and quote are the last of the historical ones
    last = mkt.data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="AAPL"))
    assert (last["AAPL"].timestamp, last["AAPL"].price) == (got[-1].timestamp, got[-1].price)
    quotes = mkt.data.get_stock_quotes(StockQuotesRequest(
        symbol_or_symbols="AAPL", start=OPEN, end=OPEN + timedelta(hours=1)))["AAPL"]
    assert [q.timestamp for q in quotes] == [t.timestamp for t in got]
    for q, t in zip(quotes, got, strict=True):
        half = max(0.01, round(t.price * 0.0001, 4))
        assert q.bid_price == pytest.approx(t.price - half, abs=1e-9)
        assert q.ask_price == pytest.approx(t.price + half, abs=1e-9)
        assert q.bid_size == q.ask_size == max(1, int(t.size) // 100)
    lq = mkt.data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))
    assert (lq["AAPL"].bid_price, lq["AAPL"].ask_price) == (quotes[-1].bid_price,
                                                            quotes[-1].ask_price)


def test_trade_pages_follow_tokens(mkt: Market) -> None:
    start = datetime(2024, 3, 4, tzinfo=UTC)
    syms = [r[0] for r in mkt.db.fetch_all(
        "SELECT symbol FROM symbols WHERE asset_class = 'equity' ORDER BY symbol")]
    got = mkt.data.get_stock_trades(StockTradesRequest(symbol_or_symbols=syms, start=start))
    n = 0
    for sym in syms:
        rows = mkt.stored(sym, "1m", start, T)
        want = [p for r in rows for p in expected_prints(r)]
        trades = got[sym]
        assert [(t.timestamp, t.price, int(t.size)) for t in trades] == want, sym
        assert len({t.id for t in trades}) == len(trades)
        n += len(trades)
    assert n > 30_000  # four pages of the SDK's 10,000
    # the raw API: small pages, descending, the token of each page resumes after its last
    seen, token = [], None
    while True:
        body = mkt.get("/v2/stocks/quotes", symbols="JPM,SPY", start=OPEN.isoformat(),
                       end=(OPEN + timedelta(minutes=30)).isoformat(), limit=37, sort="desc",
                       **({"page_token": token} if token else {})).json()
        seen += [(s, q["t"]) for s, qs in body["quotes"].items() for q in qs]
        token = body["next_page_token"]
        if token is None:
            break
    assert len(seen) == len(set(seen)) == 2 * 30 * 4 + 2  # and the 10:00:00 open print of each
    jpm = [t for s, t in seen if s == "JPM"]
    assert jpm == sorted(jpm, reverse=True) and seen[0][0] == "JPM"
    r = mkt.get("/v2/stocks/trades", symbols="AAPL", page_token="bm90IGpzb24=")
    assert r.status_code == 400 and r.json()["code"] == 40010001
    r = mkt.get("/v2/stocks/trades", symbols="AAPL", limit=0)
    assert 400 <= r.status_code < 500 and "code" in r.json()


def test_the_calendar_without_a_range_is_every_session(mkt: Market) -> None:
    tc = TradingClient("k", "s", url_override=mkt.url)
    cal = tc.get_calendar()
    assert cal[0].date == date(1990, 1, 2) and cal[-1].date.year >= 2025 and len(cal) > 8_000
    days = {c.date: c for c in cal}
    assert (days[date(2024, 1, 2)].open.hour, days[date(2024, 1, 2)].close.hour) == (9, 16)
    assert days[date(2024, 11, 29)].close.hour == 13  # the day after Thanksgiving
    assert date(2024, 1, 1) not in days
    # speed is the bench's to measure, not a test's to assert: the second answer is the same
    assert [c.date for c in tc.get_calendar()] == [c.date for c in cal]
    r = mkt.get("/v2/calendar", start="2024-12-20")
    assert r.json()[0]["date"] == "2024-12-20" and r.json()[-1]["date"] == cal[-1].date.isoformat()
    assert mkt.get("/v2/calendar", start="soon").status_code == 400


def test_assets_honour_the_filters(mkt: Market) -> None:
    tc = TradingClient("k", "s", url_override=mkt.url)
    every = tc.get_all_assets()
    assert len(every) == 13
    crypto = tc.get_all_assets(GetAssetsRequest(asset_class=AssetClass.CRYPTO))
    assert [(a.symbol, a.asset_class, a.exchange) for a in crypto] == [
        ("BTC/USD", AssetClass.CRYPTO, AssetExchange.CRYPTO)]
    eq = tc.get_all_assets(GetAssetsRequest(asset_class=AssetClass.US_EQUITY,
                                            status=AssetStatus.ACTIVE))
    assert len(eq) == 12 and {a.asset_class for a in eq} == {AssetClass.US_EQUITY}
    by = {a.symbol: a.exchange for a in eq}
    assert (by["AAPL"], by["JPM"], by["SPY"]) == (AssetExchange.NASDAQ, AssetExchange.NYSE,
                                                  AssetExchange.ARCA)
    nyse = tc.get_all_assets(GetAssetsRequest(exchange=AssetExchange.NYSE))
    assert [a.symbol for a in nyse] == ["JPM"]
    assert tc.get_all_assets(GetAssetsRequest(asset_class=AssetClass.US_OPTION)) == []
    assert tc.get_all_assets(GetAssetsRequest(status=AssetStatus.INACTIVE)) == []
    assert tc.get_all_assets(GetAssetsRequest(attributes="ptp_no_exception,ipo")) == []
    assert tc.get_asset("JPM").exchange == AssetExchange.NYSE
    r = mkt.get("/v2/assets", asset_class="bonds")
    assert r.status_code == 422 and r.json()["code"] == 42210000
    assert "asset_class" in r.json()["message"]


def test_a_position_carries_its_listing_exchange(mkt: Market) -> None:
    tc = TradingClient("k", "s", url_override=mkt.url)
    mkt.clock.t = OPEN + timedelta(minutes=10)
    for sym in ("JPM", "SPY", "AAPL"):
        tc.submit_order(MarketOrderRequest(symbol=sym, qty=1, side=OrderSide.BUY,
                                           time_in_force=Tif.DAY))
    mkt.clock.t = OPEN + timedelta(minutes=15)
    by = {p.symbol: p.exchange for p in tc.get_all_positions()}
    assert by == {"JPM": AssetExchange.NYSE, "SPY": AssetExchange.ARCA,
                  "AAPL": AssetExchange.NASDAQ}
    assert tc.get_open_position("JPM").exchange == AssetExchange.NYSE
