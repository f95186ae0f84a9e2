"""Batched reads (``get_ohlcv_many`` / ``get_bars_many``) equal the per-symbol reads."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from shared.db import Database, migrate
from shared.errors import ServiceUnavailable, ValidationError
from shared.market import ClockController, DataManager
from tests.conftest import make_settings


def _manager(tmp_path: Path, name: str, now: str) -> DataManager:
    settings = make_settings(tmp_path / name, market__universe_size=30,
                             market__data_cache_dir=str(tmp_path / name / "data-cache"))
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max")
    ctl.advance(now)
    return DataManager(settings, db, clock=ctl.clock, owner=True)


@pytest.fixture
def pair(tmp_path: Path):
    """Two data managers on two empty databases at the same clock time (mid-session)."""
    a = _manager(tmp_path, "a", "2024-03-06T17:07:30Z")
    b = _manager(tmp_path, "b", "2024-03-06T17:07:30Z")
    yield a, b
    for dm in (a, b):
        dm.close()
        dm.db.close()


def _equities(dm: DataManager, n: int) -> list[str]:
    return [s for s, i in dm.universe.items() if i.asset_class == "equity"][:n]


@pytest.mark.parametrize(("tf", "start"), [("1m", "2024-03-04"), ("5m", "2024-03-01"),
                                           ("1h", "2024-03-05"), ("1d", "2024-01-20")])
def test_many_equals_per_symbol_on_empty_databases(pair, tf, start):
    one, many = pair
    syms = _equities(one, 6)
    expected = {s: one.get_ohlcv(s, tf, start) for s in syms}
    got = many.get_ohlcv_many(syms, tf, start)
    assert list(got) == syms
    for s in syms:
        assert len(expected[s]) > 0
        pd.testing.assert_frame_equal(got[s], expected[s], check_index_type=False)
        assert got[s].attrs["source"] == expected[s].attrs["source"] == "simulated"
    # both databases now hold the same rows and coverage, and nothing was fetched twice
    for s in syms:
        assert one.store.count(s, tf) == many.store.count(s, tf)
        full_one = one.get_historical_data(s, tf, start)
        full_many = many.get_historical_data(s, tf, start)
        pd.testing.assert_frame_equal(full_one, full_many, check_index_type=False)
    fetches = many.counters["fetches"]
    many.memory.clear()
    again = many.get_ohlcv_many(syms, tf, start)
    assert many.counters["fetches"] == fetches
    for s in syms:
        pd.testing.assert_frame_equal(again[s], got[s])


def test_many_never_returns_a_bar_before_its_close(pair):
    _, dm = pair
    syms = _equities(dm, 4)
    now = dm.clock.now_ts()
    for tf, minutes in (("1m", 1), ("5m", 5), ("15m", 15)):
        for s, arr in dm.get_bars_many(syms, tf, "2024-03-06").items():
            assert len(arr) > 0, s
            assert arr.ts[-1] + minutes * 60_000_000_000 <= now.value
    # the 17:05 five-minute bar closes at 17:10, after the clock (17:07:30)
    five = dm.get_bars_many(syms, "5m", "2024-03-06")
    assert pd.Timestamp(int(five[syms[0]].ts[-1]), tz="UTC") == pd.Timestamp("2024-03-06T17:00Z")
    later = dm.get_bars_many(syms, "5m", "2024-03-06", as_of="2024-03-06T17:10Z")
    assert pd.Timestamp(int(later[syms[0]].ts[-1]), tz="UTC") == pd.Timestamp("2024-03-06T17:05Z")


def test_many_uses_the_memory_cache_shared_with_single_reads(pair):
    _, dm = pair
    syms = _equities(dm, 3)
    dm.get_bars_many(syms, "1m", "2024-03-06")
    hits = dm.memory.hits
    df = dm.get_ohlcv(syms[1], "1m", "2024-03-06")
    assert dm.memory.hits == hits + 1
    arr = dm.get_bars_many([syms[1]], "1m", "2024-03-06")[syms[1]]
    assert np.array_equal(arr.close, df["close"].to_numpy())
    with pytest.raises(ValueError):
        arr.close[0] = 1.0  # cached arrays are read-only
    df.iloc[0, 0] = -1.0  # a returned frame is the caller's own copy
    assert dm.get_ohlcv(syms[1], "1m", "2024-03-06").iloc[0, 0] != -1.0


def test_many_collects_per_symbol_errors(pair):
    _, dm = pair
    good = _equities(dm, 2)
    errors: dict = {}
    got = dm.get_ohlcv_many([*good, "not a symbol!"], "1m", "2024-03-06", errors=errors)
    assert list(got) == good and list(errors) == ["not a symbol!"]
    with pytest.raises(ValidationError):
        dm.get_ohlcv_many([*good, "not a symbol!"], "1m", "2024-03-06")


def test_many_reports_unservable_symbols_when_the_route_is_not_simulated(tmp_path: Path):
    settings = make_settings(tmp_path, market__universe_size=30,
                             market__routes={"equity": ["alpaca"]},
                             market__data_cache_dir=str(tmp_path / "data-cache"))
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max")
    ctl.advance("2024-03-06T17:00Z")
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    syms = _equities(dm, 2)
    errors: dict = {}
    assert dm.get_bars_many(syms, "1m", "2024-03-06", errors=errors) == {}
    assert set(errors) == set(syms)
    assert all(isinstance(e, ServiceUnavailable) for e in errors.values())
    dm.close()
    db.close()
