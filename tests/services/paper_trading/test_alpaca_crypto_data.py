"""The unmodified alpaca-py ``CryptoHistoricalDataClient`` against the paper-trading app served
on loopback, on a Saturday night (equities closed): /v1beta3/crypto/us bars, latest bars,
trades, quotes and order books, snapshots, historical trades and quotes, and their errors.

The built-in market is stored by its owner (coordination's feed, in-process); every answer is
checked against the stored bars, keyed by the pair, with fractional sizes.
"""
from __future__ import annotations

import warnings
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
import requests

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.data.historical import CryptoHistoricalDataClient
    from alpaca.data.requests import (
        CryptoBarsRequest,
        CryptoLatestBarRequest,
        CryptoLatestOrderbookRequest,
        CryptoLatestQuoteRequest,
        CryptoLatestTradeRequest,
        CryptoQuoteRequest,
        CryptoSnapshotRequest,
        CryptoTradesRequest,
    )
    from alpaca.data.timeframe import TimeFrame, TimeFrameUnit

from services.paper_trading import create_app
from shared.db import Database, migrate
from tests.conftest import make_settings, own_market, serve
from tests.services.paper_trading.helpers import Clock

#: Saturday 2024-03-09 03:00 UTC: no equity session anywhere near
T = datetime(2024, 3, 9, 3, 0, tzinfo=UTC)
PAIRS = ["BTC/USD", "ETH/USD"]
HISTORY = {"1m": 2, "5m": 2, "15m": 2, "1h": 3, "1d": 10}


class Market:
    def __init__(self, url: str, db: Database) -> None:
        self.url, self.db = url, db
        self.data = CryptoHistoricalDataClient(url_override=url)  # crypto needs no keys
        self.data._retry = 0

    def stored(self, symbol: str, timeframe: str, lo: datetime, hi: datetime) -> list[Any]:
        rows = self.db.fetch_all(
            "SELECT ts, open_micros, high_micros, low_micros, close_micros, volume "
            "FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? AND ts < ? ORDER BY ts",
            (symbol, timeframe, _iso(lo), _iso(hi)))
        return [(datetime.fromisoformat(r[0]), *r[1:]) for r in rows]

    def get(self, path: str, **params: Any) -> requests.Response:
        return requests.get(self.url + path, params=params, timeout=30)


def _iso(t: datetime) -> str:
    return t.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S+00:00")


@pytest.fixture(scope="module")
def mkt(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    from shared.market import ClockController

    settings = make_settings(tmp_path_factory.mktemp("crypto_data"), market__universe_size=8,
                             market__crypto_symbols=PAIRS)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.advance(T)
    own_market(settings, db, ctl.clock, history_days=HISTORY)
    with serve(create_app(settings, now=Clock(T))) as url:
        yield Market(url, db)
    db.close()


def _price(micros: int) -> float:
    return micros / 1e6


def test_minute_bars_every_minute_of_a_saturday_keyed_by_pair(mkt: Market) -> None:
    start = T - timedelta(hours=3)
    got = mkt.data.get_crypto_bars(CryptoBarsRequest(
        symbol_or_symbols=PAIRS, timeframe=TimeFrame.Minute, start=start))
    for pair in PAIRS:
        bars = got.data[pair]
        times = [b.timestamp for b in bars]
        # every minute from the start up to the last one closed by the clock, none twice
        assert times == [start + timedelta(minutes=i) for i in range(180)]
        stored = mkt.stored(pair, "1m", start, T)
        assert [(b.open, b.high, b.low, b.close, b.volume) for b in bars] == [
            (_price(r[1]), _price(r[2]), _price(r[3]), _price(r[4]), r[5]) for r in stored]


def test_hour_and_day_bars_are_on_utc_boundaries(mkt: Market) -> None:
    hours = mkt.data.get_crypto_bars(CryptoBarsRequest(
        symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Hour, start=T - timedelta(hours=30)))
    times = [b.timestamp for b in hours.data["BTC/USD"]]
    assert times == [T - timedelta(hours=30 - i) for i in range(30)]
    days = mkt.data.get_crypto_bars(CryptoBarsRequest(
        symbol_or_symbols="BTC/USD", timeframe=TimeFrame.Day, start=T - timedelta(days=5)))
    got = [b.timestamp for b in days.data["BTC/USD"]]
    # UTC midnights, Wednesday to Friday: Saturday's day is still running at 03:00
    assert got == [datetime(2024, 3, d, tzinfo=UTC) for d in (5, 6, 7, 8)]
    friday = mkt.stored("BTC/USD", "1m", datetime(2024, 3, 8, tzinfo=UTC),
                        datetime(2024, 3, 9, tzinfo=UTC))
    assert len(friday) == 1440
    fri = days.data["BTC/USD"][-1]
    assert (fri.open, fri.close, fri.volume) == (
        _price(friday[0][1]), _price(friday[-1][4]), sum(r[5] for r in friday))
    assert fri.high == _price(max(r[2] for r in friday))
    # 4-hour bars built from the hours: UTC 00:00, 04:00 ... (a day holds six)
    four = mkt.data.get_crypto_bars(CryptoBarsRequest(
        symbol_or_symbols="BTC/USD", timeframe=TimeFrame(4, TimeFrameUnit.Hour),
        start=datetime(2024, 3, 8, tzinfo=UTC), end=datetime(2024, 3, 8, 23, 59, tzinfo=UTC)))
    assert [b.timestamp.hour for b in four.data["BTC/USD"]] == [0, 4, 8, 12, 16, 20]


def test_pages_follow_the_token_to_the_same_bars(mkt: Market) -> None:
    req = dict(symbol_or_symbols=PAIRS, timeframe=TimeFrame.Minute,
               start=T - timedelta(minutes=30))
    whole = mkt.data.get_crypto_bars(CryptoBarsRequest(**req))
    first = mkt.get("/v1beta3/crypto/us/bars", symbols=",".join(PAIRS), timeframe="1Min",
                    start=_iso(T - timedelta(minutes=30)), limit=7)
    assert first.status_code == 200 and first.json()["next_page_token"]
    assert len(first.json()["bars"]["BTC/USD"]) == 7
    paged = mkt.data.get_crypto_bars(CryptoBarsRequest(**req, limit=45))  # SDK pages at 10000
    assert [len(paged.data[p]) for p in PAIRS] == [30, 15]
    assert paged.data["BTC/USD"] == whole.data["BTC/USD"]
    # the SDK itself walks pages when the server's page is smaller than its limit
    r = mkt.get("/v1beta3/crypto/us/bars", symbols="BTC/USD", timeframe="1Min",
                start=_iso(T - timedelta(minutes=30)), limit=10, page_token=first.json()[
                    "next_page_token"])
    assert r.status_code == 200
    assert r.json()["bars"]["BTC/USD"][0]["t"] == _iso(T - timedelta(minutes=23)).replace(
        "+00:00", "Z")


def test_latest_trade_quote_bar_and_book_agree_with_the_last_minute(mkt: Market) -> None:
    (last,) = mkt.stored("BTC/USD", "1m", T - timedelta(minutes=1), T)
    bar = mkt.data.get_crypto_latest_bar(CryptoLatestBarRequest(symbol_or_symbols="BTC/USD"))
    assert bar["BTC/USD"].timestamp == T - timedelta(minutes=1)
    assert bar["BTC/USD"].close == _price(last[4])
    traded = [r for r in mkt.stored("BTC/USD", "1m", T - timedelta(hours=3), T) if r[5] > 0]
    ref = traded[-1]  # the last minute that traded
    trade = mkt.data.get_crypto_latest_trade(CryptoLatestTradeRequest(symbol_or_symbols=PAIRS))
    t = trade["BTC/USD"]
    assert t.timestamp == ref[0] + timedelta(seconds=59) and t.price == _price(ref[4])
    assert Decimal(str(t.size)) == Decimal(ref[5]) / 4  # fractional coins, exact quarters
    assert set(trade) == set(PAIRS)
    quote = mkt.data.get_crypto_latest_quote(CryptoLatestQuoteRequest(symbol_or_symbols="BTC/USD"))
    q = quote["BTC/USD"]
    assert q.bid_price < t.price < q.ask_price
    assert q.bid_size == q.ask_size == t.size
    book = mkt.data.get_crypto_latest_orderbook(
        CryptoLatestOrderbookRequest(symbol_or_symbols="BTC/USD"))["BTC/USD"]
    assert book.bids[0].price == q.bid_price and book.asks[0].price == q.ask_price
    assert [b.price for b in book.bids] == sorted((b.price for b in book.bids), reverse=True)
    assert [a.price for a in book.asks] == sorted(a.price for a in book.asks)
    assert [Decimal(str(b.size)) for b in book.bids] == [
        Decimal(str(t.size)) * k for k in range(1, len(book.bids) + 1)]


def test_historical_trades_sum_to_each_minute_volume(mkt: Market) -> None:
    start = T - timedelta(minutes=20)
    trades = mkt.data.get_crypto_trades(CryptoTradesRequest(symbol_or_symbols="BTC/USD",
                                                            start=start))
    quotes = mkt.data.get_crypto_quotes(CryptoQuoteRequest(symbol_or_symbols="BTC/USD",
                                                           start=start))
    stored = mkt.stored("BTC/USD", "1m", start, T)
    sums: dict[datetime, Decimal] = {}
    for tr in trades.data["BTC/USD"]:
        minute = tr.timestamp.replace(second=0)
        sums[minute] = sums.get(minute, Decimal(0)) + Decimal(str(tr.size))
    assert sums == {r[0]: Decimal(r[5]) for r in stored if r[5] > 0}
    assert len(quotes.data["BTC/USD"]) == len(trades.data["BTC/USD"])
    times = [tr.timestamp for tr in trades.data["BTC/USD"]]
    assert times == sorted(times) and times[-1] < T


def test_snapshot_daily_bar_is_the_running_utc_day(mkt: Market) -> None:
    snap = mkt.data.get_crypto_snapshot(CryptoSnapshotRequest(symbol_or_symbols=PAIRS))
    s = snap["BTC/USD"]
    today = mkt.stored("BTC/USD", "1m", datetime(2024, 3, 9, tzinfo=UTC), T)
    assert len(today) == 180
    assert s.daily_bar.timestamp == datetime(2024, 3, 9, tzinfo=UTC)
    assert (s.daily_bar.open, s.daily_bar.close) == (_price(today[0][1]), _price(today[-1][4]))
    assert s.previous_daily_bar.timestamp == datetime(2024, 3, 8, tzinfo=UTC)
    assert s.minute_bar.timestamp == T - timedelta(minutes=1)
    assert set(snap) == set(PAIRS)


def test_bad_input_is_an_alpaca_error(mkt: Market) -> None:
    with pytest.raises(APIError) as err:
        mkt.data.get_crypto_latest_bar(CryptoLatestBarRequest(symbol_or_symbols="DOGE/USD"))
    assert err.value.status_code == 404 and err.value.code == 40410000
    r = mkt.get("/v1beta3/crypto/us/latest/trades", symbols="AAPL")
    assert r.status_code == 400 and r.json()["code"] == 40010001
    assert "crypto pair" in r.json()["message"] and r.json().get("field") == "symbols"
    r = mkt.get("/v1beta3/crypto/us/bars", symbols="BTC/USD", timeframe="2Day")
    assert r.status_code == 422 and "timeframe" in r.json()["message"]
    r = mkt.get("/v1beta3/crypto/us/bars", symbols="BTC/USD", timeframe="1Min",
                start="saturday")
    assert r.status_code == 400 and r.json()["code"] == 40010001
    r = mkt.get("/v1beta3/crypto/us/snapshots")
    assert r.status_code == 400 and "symbols" in r.json()["message"]
    r = mkt.get("/v1beta3/crypto/eu/latest/bars", symbols="BTC/USD")
    assert r.status_code == 404 and r.json()["code"] == 40410000
    r = mkt.get("/v1beta3/crypto/us/trades", symbols="BTC/USD", limit=0)
    assert r.status_code == 400 and "limit" in r.text


def test_openapi_documents_every_crypto_route_with_its_symbols(mkt: Market) -> None:
    spec = mkt.get("/openapi.json").json()
    paths = {p: v for p, v in spec["paths"].items() if p.startswith("/v1beta3/crypto/")}
    assert {p.split("{feed}")[1] for p in paths} == {
        "/bars", "/latest/bars", "/latest/trades", "/latest/quotes", "/latest/orderbooks",
        "/snapshots", "/trades", "/quotes"}
    for p, ops in paths.items():
        names = {x["name"] for x in ops["get"].get("parameters", [])}
        assert {"feed", "symbols"} <= names, (p, names)
