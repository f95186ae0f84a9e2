"""Memory the market keeps: bounded path blocks with the full path's values, only the live
session cached, reads in blocks, bulk reads giving memory back, cache-free batched reads."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shared.market import SimulatedProvider, reads, simulated, storage
from shared.market.symbols import universe_map


def _provider(calendar, seed=42, size=60):  # type: ignore[no-untyped-def]
    return SimulatedProvider(seed, universe_map(seed, size, ("BTC/USD",)), calendar)


def test_path_blocks_hold_the_full_paths_values_and_stay_bounded(calendar, monkeypatch):
    full = _provider(calendar)
    syms = [s for s, i in full.universe.items() if i.asset_class == "equity"][:6]
    n = len(calendar.sessions)
    idxs = [0, 1, simulated.PATH_BLOCK - 1, simulated.PATH_BLOCK, 4321, n - 1, n + 50]
    monkeypatch.setattr(simulated, "PATH_BLOCKS_KEPT", 3)
    small = _provider(calendar)
    for sym in [*syms, "BTC/USD", "ZZZQ"]:  # universe equities, crypto, a derived ticker
        log_open, log_close = full._daily_path(sym)
        for idx in idxs:
            i = min(idx, len(log_open) - 1)
            assert small.daily_open_close(sym, idx) == (log_open[i], log_close[i])
            assert len(small._daily) <= 3
    with pytest.raises(IndexError):
        small.daily_open_close("BTC/USD", -10**6)


def test_sessions_across_many_blocks_equal_a_provider_never_evicting(calendar, monkeypatch):
    roomy = _provider(calendar)
    monkeypatch.setattr(simulated, "PATH_BLOCKS_KEPT", 2)
    tight = _provider(calendar)
    syms = [s for s, i in roomy.universe.items() if i.asset_class == "equity"][:8]
    for day in ("1990-01-02", "2006-01-03", "2024-03-05", "1995-06-15", "2024-03-05"):
        a, b = roomy.generate_session(day, syms), tight.generate_session(day, syms)
        for k in ("open", "high", "low", "close", "volume", "vwap", "trade_count"):
            np.testing.assert_array_equal(getattr(a, k), getattr(b, k))
    assert len(tight._daily) <= 2 < len(roomy._daily)


def test_a_backfill_caches_only_the_session_still_open_at_the_cutoff(manager, controller):
    controller.advance("2024-03-06T15:00Z")
    syms = [s for s, i in manager.universe.items() if i.asset_class == "equity"][:5]
    got = manager.get_bars_many(syms, "5m", start="2024-02-26")
    assert all(len(b) for b in got.values())
    sim = manager.providers.get("simulated")
    cached = {pd.Timestamp(k[0]) for k in sim._sessions.keys()}
    assert cached == {pd.Timestamp("2024-03-06")}


def test_batched_read_taken_in_blocks_equals_one_block(manager, controller, monkeypatch):
    controller.advance("2024-03-06T15:00Z")
    syms = [s for s, i in manager.universe.items() if i.asset_class == "equity"][:7]
    manager.get_bars_many(syms, "5m", start="2024-03-01", cache=False)  # stores the bars
    whole = manager.store.read_arrays(syms, "5m", "2024-03-01T00:00:00+00:00",
                                      "2024-03-07T00:00:00+00:00")
    monkeypatch.setattr(storage, "_FETCH_ROWS", 7)
    parts = manager.store.read_arrays(syms, "5m", "2024-03-01T00:00:00+00:00",
                                      "2024-03-07T00:00:00+00:00")
    assert sum(len(a) for a in whole.values()) > 7 * 10
    for sym in syms:
        for f in ("ts", "open", "high", "low", "close", "volume", "vwap", "trade_count"):
            np.testing.assert_array_equal(getattr(whole[sym], f), getattr(parts[sym], f))
        assert whole[sym].close.flags.c_contiguous and parts[sym].close.flags.c_contiguous


def test_a_bulk_read_gives_memory_back_and_a_small_one_does_not(manager, controller,
                                                                monkeypatch):
    calls: list[object] = []
    monkeypatch.setattr(reads, "release_memory", calls.append)
    controller.advance("2024-03-06T15:00Z")
    syms = [s for s, i in manager.universe.items() if i.asset_class == "equity"][:4]
    manager.get_bars_many(syms, "5m", start="2024-03-05")
    assert calls == []  # well under BULK_ROWS
    monkeypatch.setattr(reads, "BULK_ROWS", 50)
    manager.get_bars_many(syms, "5m", start="2024-03-04", cache=False)
    assert calls == [manager.db.get_db_connection()]


def test_release_memory_drops_the_page_cache_and_tolerates_a_closed_connection(manager,
                                                                              controller):
    from shared.market.release import release_memory, trim_heap

    controller.advance("2024-03-06T15:00Z")
    manager.get_bars_many(sorted(manager.universe)[:3], "5m", start="2024-03-04")
    conn = manager.db.get_db_connection()
    release_memory(conn)  # shrink_memory and, on glibc, malloc_trim: must not raise
    assert isinstance(trim_heap(), bool)
    manager.db.close()
    release_memory(conn)  # a closed connection is logged, not raised


def test_uncached_batched_read_equals_the_cached_one_and_leaves_the_cache_empty(manager,
                                                                                 controller):
    controller.advance("2024-03-06T15:00Z")
    syms = [s for s, i in manager.universe.items() if i.asset_class == "equity"][:5]
    plain = manager.get_bars_many(syms, "5m", start="2024-03-04", cache=False)
    assert manager.memory.stats()["size"] == 0
    cached = manager.get_bars_many(syms, "5m", start="2024-03-04")
    assert manager.memory.stats()["size"] == len(syms)
    for sym in syms:
        np.testing.assert_array_equal(plain[sym].ts, cached[sym].ts)
        np.testing.assert_array_equal(plain[sym].close, cached[sym].close)
