"""The data manager: storage without duplicates, missing ranges only, failover, stale data."""
from __future__ import annotations

import threading

import pandas as pd
import pytest

from shared.errors import ServiceUnavailable
from shared.market import get_data_manager, make_frame, reset_data_manager


class Flaky:
    """A provider that fails while ``fail`` is set, else serves a simulated provider's bars."""

    name = "flaky"

    def __init__(self, inner, fail=True):
        self.inner, self.fail, self.calls = inner, fail, 0

    def fetch_bars(self, *a):
        self.calls += 1
        if self.fail:
            raise ConnectionError("provider down")
        return self.inner.fetch_bars(*a)

    def health(self):
        return {"ok": not self.fail}


def test_store_once_and_fetch_only_missing(manager, controller):
    sym = next(iter(manager.universe))
    controller.advance("2024-03-05T16:00Z")
    df = manager.get_historical_data(sym, "1m", start="2024-03-05")
    assert len(df) == 90
    fetches = manager.counters["fetches"]
    manager.memory.clear()
    again = manager.get_historical_data(sym, "1m", start="2024-03-05")
    pd.testing.assert_frame_equal(df, again)
    assert manager.counters["fetches"] == fetches  # all from the database
    controller.advance("2024-03-05T16:10Z")
    assert len(manager.get_historical_data(sym, "1m", start="2024-03-05")) == 100
    assert manager.counters["fetches"] == fetches + 1
    assert manager.store.count(sym, "1m") == 100
    manager.ingest_session("2024-03-05", [sym], as_of="2024-03-05T16:10Z")  # upsert again
    assert manager.store.count(sym, "1m") == 100


def test_prices_round_trip_exactly_and_latest_price(manager, controller):
    sym = next(iter(manager.universe))
    controller.advance("2024-03-05T15:00Z")
    sim = manager.providers.get("simulated").fetch_bars(sym, "1m", "2024-03-05", "2024-03-05T15:00Z")
    got = manager.get_historical_data(sym, "1m", start="2024-03-05")
    assert (got["close"].to_numpy() == sim["close"].to_numpy()).all()
    p = manager.get_latest_price(sym)
    assert str(p.price) == f"{sim['close'].iloc[-1]:.2f}"
    assert p.ts == pd.Timestamp("2024-03-05T15:00Z")
    ohlcv = manager.get_ohlcv(sym, "5m", start_hours_ago=1)
    assert list(ohlcv.columns) == ["open", "high", "low", "close", "volume"]
    assert str(ohlcv.index.tz) == "UTC"


def test_failover_to_the_next_provider_and_breaker_opens(db, market_settings, controller):
    from shared.market import DataManager
    s = market_settings.model_copy(update={"market": market_settings.market.model_copy(
        update={"routes": {"equity": ["flaky", "simulated"], "crypto": ["simulated"]},
                "breaker_fail_max": 2})})
    flaky = {}
    dm = DataManager(s, db, clock=controller.clock, extra_providers={"flaky": lambda: flaky.setdefault(
        "p", Flaky(dm.providers.get("simulated")))}, owner=True)
    sym = next(iter(dm.universe))
    controller.advance("2024-03-05T15:00Z")
    for _ in range(4):
        controller.step()
        assert len(dm.get_historical_data(sym, "1m", start="2024-03-05"))
    h = dm.get_system_health()
    assert h["providers"]["flaky"]["breaker"] == "open" and h["status"] == "degraded"
    assert flaky["p"].calls == 2  # then skipped while open
    assert dm.counters["failovers"] == 4


def test_stale_fallback_when_every_provider_fails(db, market_settings, controller):
    from shared.market import DataManager
    s = market_settings.model_copy(update={"market": market_settings.market.model_copy(
        update={"routes": {"equity": ["flaky"], "crypto": ["simulated"]}})})
    holder = {}
    dm = DataManager(s, db, clock=controller.clock, extra_providers={"flaky": lambda: holder.setdefault(
        "p", Flaky(dm.providers.get("simulated"), fail=False))}, owner=True)
    sym = next(iter(dm.universe))
    controller.advance("2024-03-05T15:00Z")
    assert not dm.get_historical_data(sym, "1m", start="2024-03-05").attrs["stale"]
    holder["p"].fail = True
    controller.step(5)
    df = dm.get_historical_data(sym, "1m", start="2024-03-05")
    assert df.attrs["stale"] and len(df) == 30 and "provider down" in str(df.attrs["errors"])
    assert dm.counters["stale_served"] == 1
    with pytest.raises(ServiceUnavailable):
        dm.get_historical_data(list(dm.universe)[1], "1m", start="2024-03-05")


def test_bad_rows_are_logged_and_counted_not_stored(db, market_settings, controller):
    from shared.market import DataManager

    class Bad:
        name = "bad"

        def fetch_bars(self, symbol, tf, s, e):
            idx = pd.date_range("2024-03-05T14:30Z", periods=3, freq="1min")
            return make_frame(idx.as_unit("ns").asi8, [10, 10, 10], [10.5, 9.0, 10.5], [9.5, 9.5, 9.5],
                              [10, 10, 10], [5, 5, -1], symbol=symbol)

        def health(self):
            return {}

    s = market_settings.model_copy(update={"market": market_settings.market.model_copy(
        update={"routes": {"equity": ["bad"], "crypto": ["simulated"]}})})
    dm = DataManager(s, db, clock=controller.clock, extra_providers={"bad": Bad}, owner=True)
    controller.advance("2024-03-05T14:40Z")
    df = dm.get_historical_data("ZZZ", "1m", start="2024-03-05")
    assert len(df) == 1
    reasons = sorted(r["reason"] for r in dm.store.rejects("ZZZ"))
    assert reasons == ["high_below_open_close", "negative_volume"]
    assert dm.counters["rows_rejected"] == 2
    log = db.fetch_one("SELECT rows_in, rows_stored, rows_rejected FROM market_ingest_log")
    assert tuple(log) == (3, 1, 2)


def test_stream_calls_back_with_new_bars(manager, controller):
    sym = next(iter(manager.universe))
    controller.advance("2024-03-05T15:00Z")
    seen, got = [], threading.Event()

    def cb(symbol, bar):
        seen.append((symbol, bar["ts"]))
        got.set()

    manager.start_data_stream([sym], cb, interval_s=0.05)
    assert got.wait(10)
    manager.stop_data_stream()
    assert seen[0] == (sym, pd.Timestamp("2024-03-05T14:59Z"))
    assert manager.get_system_health()["stream"] is None


def test_get_data_manager_is_lazy_and_shared(market_settings, db):
    reset_data_manager()
    a = get_data_manager(market_settings)
    assert get_data_manager() is a
    reset_data_manager()


def test_symbols_table_and_crypto(manager, controller):
    controller.advance("2024-03-09T12:00Z")  # a Saturday: crypto trades, equities do not
    df = manager.get_historical_data("BTC/USD", "15m", start_hours_ago=2)
    assert len(df) == 8
    assert manager.store.symbols("crypto")[0]["symbol"] == "BTC/USD"
    assert len(manager.store.symbols("equity")) == 50
