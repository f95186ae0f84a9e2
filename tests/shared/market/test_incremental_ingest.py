"""Storing a session minute by minute writes only what is missing, and the same bars."""
from __future__ import annotations

import numpy as np
import pytest


def _bars(db, syms):  # type: ignore[no-untyped-def]
    marks = ",".join("?" * len(syms))
    return [tuple(r) for r in db.fetch_all(
        f"SELECT symbol, ts, open_micros, high_micros, low_micros, close_micros, volume, "  # noqa: S608
        f"vwap_micros, trade_count FROM bars WHERE timeframe = '1m' AND symbol IN ({marks}) "
        "ORDER BY symbol, ts", syms)]


def test_only_missing_writes_the_new_minutes_and_equals_a_whole_ingest(manager, controller, db):
    syms = sorted(manager.universe)[:6]
    controller.advance("2024-03-05T15:00Z")
    assert manager.ingest_session("2024-03-05", syms[:4], only_missing=True) == 4 * 30
    assert manager.ingest_session("2024-03-05", syms[:4], only_missing=True) == 0  # all there
    controller.advance("2024-03-05T15:03Z")
    # three new minutes for the four, the whole half hour and more for the two new symbols
    assert manager.ingest_session("2024-03-05", syms, only_missing=True) == 4 * 3 + 2 * 33
    kept = _bars(db, syms)
    with db.transaction("test:wipe") as conn:
        conn.execute("DELETE FROM bars")
        conn.execute("DELETE FROM bar_coverage")
    assert manager.ingest_session("2024-03-05", syms, as_of="2024-03-05T15:03Z") == 6 * 33
    assert _bars(db, syms) == kept


def test_session_cache_returns_read_only_copies_of_the_same_bars(manager):
    sim = manager.providers.get("simulated")
    syms = sorted(manager.universe)[:3]
    a = sim.session_cached("2024-03-05", syms)
    assert sim.session_cached("2024-03-05", syms) is a
    b = sim.generate_session("2024-03-05", syms)
    np.testing.assert_array_equal(a.close, b.close)
    with pytest.raises(ValueError):
        a.close[0, 0] = 1.0
