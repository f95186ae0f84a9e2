"""One owner of market data, tried as a user would: the real suite through hybrid_manager.py,
the unmodified alpaca-py SDK against paper trading, every service's routes.

- Right after ``start --detach`` every symbol is priced: a symbol nobody read has bars, a
  latest trade and quote, and a market order on it fills on the next bar.
- Only coordination writes the market tables: after every GET route of all nine services
  (and the batched analyses) ran, the market tables are unchanged and no process was refused
  a write.
- The first minutes of replay: no request over 2 s, no ReadTimeout, no traceback.
"""
from __future__ import annotations

import re
import sqlite3
import time
import warnings
from pathlib import Path
from typing import Any

import pytest

from shared.config import SERVICE_NAMES
from tests.reliability.suite import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
UNKNOWN = "ZZZQX"
MARKET = ("bars", "bar_coverage", "symbols", "market_ingest_log", "bar_rejects")


class OpenSuite(Suite):
    """The reliability suite without an API key (as a new user runs it)."""

    def __init__(self, tmp: Path, **overrides: str) -> None:
        super().__init__(tmp, **overrides)
        for var in ("API_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
            self.env.pop(var, None)
        self.http.headers.pop("X-API-Key", None)


@pytest.fixture
def suite(tmp_path):  # type: ignore[no-untyped-def]
    s = OpenSuite(tmp_path)
    try:
        yield s
    finally:
        s.stop()


def _clock(s: Suite) -> dict[str, Any]:
    return s.get("coordination", "/api/v1/clock").json()["data"]


def _log_problems(s: Suite) -> list[str]:
    out = []
    for path in sorted(s.log_dir.glob("*.log")):
        for line in path.read_text(errors="replace").splitlines():
            if re.search(r"ReadTimeout|Traceback|not authorized", line):
                out.append(f"{path.name}: {line[:300]}")
    return out


def _slow_requests(s: Suite, name: str, limit_s: float = 2.0) -> float:
    """Return how many requests of ``name`` took longer than ``limit_s`` (its /metrics)."""
    text = s.get(name, "/metrics").text
    under = total = 0.0
    for line in text.splitlines():
        if line.startswith("suite_http_request_seconds_bucket"):
            if f'le="{limit_s}"' in line:
                under += float(line.rsplit(" ", 1)[1])
            elif 'le="+Inf"' in line:
                total += float(line.rsplit(" ", 1)[1])
    return total - under


def test_every_symbol_priced_from_the_first_second(suite) -> None:  # type: ignore[no-untyped-def]
    with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns
        warnings.simplefilter("ignore", DeprecationWarning)
        from alpaca.common.exceptions import APIError
        from alpaca.data.historical import StockHistoricalDataClient
        from alpaca.data.requests import (
            StockBarsRequest,
            StockLatestQuoteRequest,
            StockLatestTradeRequest,
        )
        from alpaca.data.timeframe import TimeFrame
        from alpaca.trading.client import TradingClient
        from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest

    s = suite
    t0 = time.monotonic()
    s.start()
    started = time.monotonic() - t0
    base = s.url("paper_trading", "")
    data = StockHistoricalDataClient("any-key", "any-secret", url_override=base)
    trading = TradingClient("any-key", "any-secret", url_override=base)
    symbols = [a.symbol for a in trading.get_all_assets()]
    made_up = [x for x in symbols if x not in ("AAPL", "MSFT") and "/" not in x][-1]
    # the very first thing after start: symbols no service has read
    for sym in ("AAPL", made_up):
        bars = data.get_stock_bars(StockBarsRequest(symbol_or_symbols=sym,
                                                    timeframe=TimeFrame.Minute, limit=10))
        assert len(bars.data.get(sym, [])) > 0, sym
        trade = data.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols=sym))
        quote = data.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols=sym))
        assert trade[sym].price > 0 and quote[sym].ask_price > quote[sym].bid_price > 0
    priced = time.monotonic() - t0
    print(f"\nhealthy {started:.1f}s, every symbol priced {priced:.1f}s after start --detach")
    # the README's example, as written
    order = trading.submit_order(MarketOrderRequest(symbol="AAPL", qty=10, side="buy",
                                                    time_in_force="day"))
    last = float(data.get_stock_latest_trade(
        StockLatestTradeRequest(symbol_or_symbols=made_up))[made_up].price)
    limit = trading.submit_order(LimitOrderRequest(symbol=made_up, qty=2, side="buy",
                                                   time_in_force="day",
                                                   limit_price=round(last * 1.05, 2)))
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        order, limit = trading.get_order_by_id(order.id), trading.get_order_by_id(limit.id)
        if order.status.value == "filled" and limit.status.value == "filled":
            break
        time.sleep(0.2)
    for o in (order, limit):
        assert o.status.value == "filled", o
        # filled on a later bar than the one that had closed when it was submitted
        assert o.filled_at.replace(second=0, microsecond=0) > o.submitted_at.replace(
            second=0, microsecond=0) or o.filled_at > o.submitted_at
    assert float(limit.filled_avg_price) <= round(last * 1.05, 2)
    assert {p.symbol for p in trading.get_all_positions()} >= {"AAPL", made_up}
    # an unknown symbol is a 404 naming it, and nothing is stored for it
    with pytest.raises(APIError) as err:
        data.get_stock_bars(StockBarsRequest(symbol_or_symbols=UNKNOWN,
                                             timeframe=TimeFrame.Minute))
    assert UNKNOWN in str(err.value)
    for name, path in (("technical_analysis", f"/api/v1/indicators/{UNKNOWN}"),
                       ("pattern_recognition", f"/api/v1/candlesticks/{UNKNOWN}"),
                       ("dashboard", f"/api/v1/chart/{UNKNOWN}")):
        r = s.get(name, path)
        assert r.status_code == 404 and UNKNOWN in r.json()["error"]["message"], (name, r.text)
    # a GET's work is bounded: decades of bars are refused at once
    t = time.monotonic()
    r = s.get("technical_analysis", "/api/v1/indicators/AAPL?start=0")
    assert r.status_code == 400 and r.json()["error"]["details"]["field"] == "start"
    # refused before any work: generating the decades took minutes (a loaded CI box may
    # still need seconds to answer at all, so the bound is loose)
    assert time.monotonic() - t < 30
    # the first minutes of the replay (x130: a clock minute in under half a second)
    open_ = _clock(s)["now"]
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline and _clock(s)["now"] < _plus_minutes(open_, 5):
        time.sleep(0.2)
    for name in SERVICE_NAMES:
        ready = s.get(name, "/ready").json()["data"]
        assert ready["ready"] and ready["market_data"]["stale"] is False, (name, ready)
        assert _slow_requests(s, name) == 0, name
    with sqlite3.connect(s.db_path) as conn:
        assert conn.execute("SELECT COUNT(*) FROM bars WHERE symbol = ?",
                            (UNKNOWN,)).fetchone()[0] == 0
    assert _log_problems(s) == []


def _plus_minutes(iso: str, n: int) -> str:
    import pandas as pd

    return (pd.Timestamp(iso) + pd.Timedelta(minutes=n)).isoformat()


def _market_snapshot(path: Path) -> dict[str, tuple]:
    with sqlite3.connect(path) as conn:
        out = {t: tuple(conn.execute(f"SELECT COUNT(*) FROM {t}").fetchone())  # noqa: S608
               for t in MARKET}
        out["bars_sum"] = tuple(conn.execute(
            "SELECT TOTAL(close_micros), TOTAL(volume), MAX(ts) FROM bars").fetchone())
    return out


def _fill(path: str, sym: str) -> str:
    values = {"symbol": sym, "name": "scanner", "pattern": "CDLDOJI", "id": "1",
              "run_id": "x", "order_id": "x", "detection_id": "1", "epoch": "1",
              "page": "trading", "timeframe": "5m", "group": "symbol"}
    return re.sub(r"\{(\w+)(?::[^}]*)?\}|<(?:\w+:)?(\w+)>",
                  lambda m: values.get(m.group(1) or m.group(2), "x"), path)


def test_only_coordination_writes_market_data(tmp_path) -> None:  # type: ignore[no-untyped-def]
    s = OpenSuite(tmp_path, TRADING__MARKET__INGEST__HISTORY_DAYS="{1m: 1, 5m: 2, 1d: 10}")
    try:
        s.start()
        s.post("coordination", "/api/v1/clock", json={"action": "pause"})
        deadline = time.monotonic() + 60
        while s.get("coordination", "/api/v1/market/feed").json()["data"]["backfill"] != "done":
            assert time.monotonic() < deadline, "the backfill did not finish"
            time.sleep(0.2)
        time.sleep(0.5)
        before = _market_snapshot(s.db_path)
        assert before["bars"][0] > 0
        seen = 0
        for name in SERVICE_NAMES:
            spec = s.get(name, "/openapi.json").json()
            for path, ops in spec["paths"].items():
                if "get" not in ops or "stream" in path:
                    continue
                for sym in ("AAPL", "NVDA", UNKNOWN):
                    for query in ("", "?start=0", "?timeframe=1d&limit=5",
                                  "?symbols=" + sym + "&timeframe=1Min"):
                        r = s.http.get(s.url(name, _fill(path, sym) + query), timeout=30)
                        assert r.status_code < 500, (name, path, query, r.text[:300])
                        seen += 1
        # the batched analyses read bars for many symbols (and write their own tables)
        syms = ["AAPL", "MSFT", "NVDA", "SPY", UNKNOWN]
        for name, path, body in (
                ("technical_analysis", "/api/v1/analyze", {"symbols": syms}),
                ("scanner", "/api/v1/scan", {"symbols": syms}),
                ("pattern_analysis", "/api/v1/patterns/batch", {"symbols": syms}),
                ("pattern_recognition", "/api/v1/candlesticks/scan", {"symbols": syms}),
                ("news", "/api/v1/sentiment/batch", {"symbols": syms})):
            r = s.post(name, path, json=body, timeout=60)
            assert r.status_code < 500, (name, path, r.text[:300])
        assert seen > 200
        assert _market_snapshot(s.db_path) == before
        assert _log_problems(s) == []
    finally:
        s.stop()


def test_a_reader_cannot_write_market_tables(tmp_path) -> None:  # type: ignore[no-untyped-def]
    """Every service but coordination opens the market tables read-only (SQLite refuses)."""
    from shared.db import database as _database
    from tests.reliability.conftest import SERVICE_MODULES, build_app, reliability_settings

    settings = reliability_settings(tmp_path)
    for name in SERVICE_MODULES:  # the stream server protects them too (its app's start-up)
        _database._registry.clear()  # each app gets a Database of its own, as in its process
        app = build_app(name, settings)
        db = app.extensions["db"]
        if name == "coordination":
            assert db.read_only_tables == frozenset()
        else:
            assert set(MARKET) <= db.read_only_tables, name
            with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
                db.execute_with_retry("DELETE FROM bars")
            assert db.fetch_one("SELECT COUNT(*) FROM bars")[0] == 0  # reads still work
        db.close()
    _database._registry.clear()
