"""The scanner and technical analysis on the crypto pairs over a weekend: a scan ranks the
pairs on Saturday 2024-03-09 (equities closed since Friday), and technical analysis's signals
for BTC/USD on Sunday 2024-03-10 (after the US daylight-saving change) come from Sunday's bars.

The market owner's clock and feed run in-process; the scanner and technical analysis are served
on loopback and read the stored market as in the suite.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import requests

import services.scanner as scanner
import services.technical_analysis as technical
from shared.db import Database, migrate
from tests.conftest import make_settings, serve

PAIRS = ["BTC/USD", "ETH/USD", "SOL/USD", "LTC/USD"]
SATURDAY = datetime(2024, 3, 9, 15, 0, tzinfo=UTC)
SUNDAY = datetime(2024, 3, 10, 16, 0, tzinfo=UTC)


@dataclass
class Market:
    db: Database
    ctl: Any
    feed: Any
    scanner: str
    technical: str
    settings: Any

    def move_to(self, t: datetime) -> None:
        self.ctl.advance(t)
        self.feed.catch_up()
        while self.feed.backfill_step():
            pass

    def close_of(self, symbol: str, timeframe: str, ts: datetime) -> float:
        row = self.db.fetch_one("SELECT close_micros FROM bars WHERE symbol = ? AND "
                                "timeframe = ? AND ts = ?", (symbol, timeframe, ts.isoformat()))
        assert row is not None, (symbol, timeframe, ts)
        return row[0] / 1e6


@pytest.fixture(scope="module")
def market(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Market]:
    from shared.market import ClockController, DataManager
    from shared.market.feed import MarketFeed

    settings = make_settings(tmp_path_factory.mktemp("crypto_strategies"),
                             market__universe_size=6, market__crypto_symbols=PAIRS,
                             market__clock__cache_ms=0)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max", replay_start="2024-02-20", replay_end="2024-03-11")
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    feed = MarketFeed(dm, settings.market.ingest.model_copy(update={"history_days": {
        "1m": 1, "5m": 3, "15m": 1, "1h": 2, "1d": 25}}))
    with serve(scanner.create_app(settings)) as s_url, \
            serve(technical.create_app(settings)) as t_url:
        m = Market(db, ctl, feed, s_url, t_url, settings)
        m.move_to(SATURDAY)
        yield m
    db.close()


def test_a_crypto_scan_ranks_the_pairs_on_saturday(market: Market) -> None:
    r = requests.post(market.scanner + "/api/v1/scan",
                      json={"preset": None, "asset_class": "crypto"}, timeout=60)
    assert r.status_code == 200, r.text
    run = r.json()["data"]
    tf = market.settings.scanner.timeframe
    step = timedelta(minutes={"1m": 1, "5m": 5, "15m": 15}.get(tf, 60))
    assert run["clock_ts"] == SATURDAY.isoformat()
    assert run["bar_ts"] == (SATURDAY - step).isoformat()  # Saturday's last closed bar
    rows = run["results"]
    assert sorted(x["symbol"] for x in rows) == sorted(PAIRS) and run["universe_size"] == 4
    scores = [x["score"] for x in rows]
    assert scores == sorted(scores, reverse=True) and len(set(scores)) > 1
    for x in rows:
        m = x["metrics"]
        # the price is Saturday's last close; the gap is Saturday 00:00 UTC's open against
        # Friday's close (a pair's day is the UTC day)
        assert m["price"] == pytest.approx(market.close_of(x["symbol"], tf, SATURDAY - step))
        fri_close = market.close_of(x["symbol"], "1d", datetime(2024, 3, 8, tzinfo=UTC))
        sat_open = market.db.fetch_one(
            "SELECT open_micros FROM bars WHERE symbol = ? AND timeframe = '1m' AND ts = ?",
            (x["symbol"], datetime(2024, 3, 9, tzinfo=UTC).isoformat()))[0] / 1e6
        assert m["gap_pct"] == pytest.approx((sat_open / fri_close - 1) * 100, abs=1e-4)
        assert x["sector"] == "Crypto" and m["rvol"] is not None
    latest = requests.get(market.scanner + "/api/v1/scan/latest", timeout=30).json()["data"]
    assert [x["symbol"] for x in latest["results"]] == [x["symbol"] for x in rows]
    assert latest["results"][0]["sector"] == "Crypto"
    # the equity scan is as before: no pair in it
    eq = requests.post(market.scanner + "/api/v1/scan", json={"preset": None}, timeout=60)
    assert eq.status_code == 200
    assert not {x["symbol"] for x in eq.json()["data"]["results"]} & set(PAIRS)
    bad = requests.post(market.scanner + "/api/v1/scan", json={"asset_class": "forex"},
                        timeout=30)
    assert bad.status_code == 400 and "asset_class" in bad.text


def test_signals_for_btc_on_sunday_come_from_sunday_bars(market: Market) -> None:
    market.move_to(SUNDAY)
    r = requests.post(market.technical + "/api/v1/analyze",
                      json={"symbols": ["BTC/USD"], "timeframe": "5m"}, timeout=60)
    assert r.status_code == 200, r.text
    res = r.json()["data"]["results"]["BTC/USD"]
    last = SUNDAY - timedelta(minutes=5)
    assert res["bar_ts"] == last.isoformat()
    assert res["close"] == pytest.approx(market.close_of("BTC/USD", "5m", last))
    assert res["signals"] and {s["timeframe"] for s in res["signals"]} == {"5m"}
    got = requests.get(market.technical + "/api/v1/signals/BTC/USD",
                       params={"timeframe": "5m"}, timeout=30)
    assert got.status_code == 200, got.text
    items = got.json()["data"]["signals"]
    assert items and {s["bar_ts"] for s in items} == {last.isoformat()}
    # indicators of the pair (a slash in the path) read Sunday's bars too
    ind = requests.get(market.technical + "/api/v1/indicators/BTC/USD",
                       params={"timeframe": "1h", "names": "RSI:14", "limit": 3}, timeout=30)
    assert ind.status_code == 200, ind.text
    hours = ind.json()["data"]["timeframes"]["1h"]["timestamps"]
    assert hours == [(SUNDAY - timedelta(hours=k)).isoformat() for k in (3, 2, 1)]

