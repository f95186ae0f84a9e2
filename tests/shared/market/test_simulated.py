"""The built-in market: deterministic, inside sessions only, realistic enough to trade."""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd

from shared.market import SimulatedProvider, build_universe, validate_bars
from shared.market.symbols import universe_map


def _provider(calendar, seed=42, size=500):
    return SimulatedProvider(seed, universe_map(seed, size), calendar)


def test_universe_has_500_named_equities_in_sectors_and_crypto():
    u = build_universe(42, 500)
    eq = [s for s in u if s.asset_class == "equity"]
    assert len(eq) == 500 and len({s.symbol for s in eq}) == 500
    assert all(s.name and s.sector for s in eq)
    assert len({s.sector for s in eq}) >= 10
    assert {s.regime for s in eq} == {"trend", "mean_revert", "shock", "random"}
    assert any(s.asset_class == "crypto" for s in u)
    assert build_universe(42, 500) == u


def test_same_seed_same_bars_and_sessions_generate_independently(calendar):
    a, b = _provider(calendar), _provider(calendar)
    syms = [s.symbol for s in build_universe(42, 500)[:20]]
    s1 = a.generate_session("2024-06-11", syms)
    s2 = b.generate_session("2024-06-11", syms)
    for k in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(s1, k), getattr(s2, k))
    alone = b.generate_session("2024-06-11", [syms[7]])  # one symbol alone: same bars
    assert np.array_equal(alone.close[0], s1.close[7])
    other = _provider(calendar, seed=7).generate_session("2024-06-11", syms)
    assert not np.array_equal(other.close, s1.close)


def test_bars_do_not_depend_on_how_far_ahead_the_calendar_reaches(calendar):
    """exchange_calendars ends a calendar a year after the day it is built: a calendar built
    100 trading days earlier must give the very same market."""
    shorter = copy.copy(calendar)
    shorter.sessions = calendar.sessions[:-100]
    shorter._open_ns, shorter._close_ns = calendar._open_ns[:-100], calendar._close_ns[:-100]
    syms = [s.symbol for s in build_universe(42, 500)[:40]]
    a = _provider(calendar).generate_session("2024-06-11", syms)
    b = _provider(shorter).generate_session("2024-06-11", syms)
    for k in ("open", "high", "low", "close", "volume"):
        assert np.array_equal(getattr(a, k), getattr(b, k)), k


def test_bars_only_inside_sessions_including_half_days(calendar):
    p = _provider(calendar)
    sym = build_universe(42, 500)[0].symbol
    df = p.fetch_bars(sym, "1m", "2024-11-27", "2024-12-03")  # Thanksgiving + half day
    days = df.groupby(df.index.tz_convert("America/New_York").date).size()
    assert days[pd.Timestamp("2024-11-29").date()] == 210
    assert days[pd.Timestamp("2024-11-27").date()] == 390
    assert pd.Timestamp("2024-11-28").date() not in days.index  # holiday
    assert (calendar.session_close_for(df.index.asi8) > 0).all()
    assert len(p.fetch_bars(sym, "1m", "2024-11-30", "2024-12-02")) == 0  # weekend


def test_prices_are_cents_and_pass_validation(calendar):
    p = _provider(calendar)
    syms = [s.symbol for s in build_universe(42, 500) if s.asset_class == "equity"]
    arr = p.generate_session("2024-03-04", syms)
    for a in (arr.open, arr.high, arr.low, arr.close):
        assert np.allclose(np.round(a * 100), a * 100, atol=1e-6)
    assert (arr.high >= np.maximum(arr.open, arr.close)).all()
    assert (arr.low <= np.minimum(arr.open, arr.close)).all()
    assert (arr.low > 0).all() and (arr.volume >= 0).all()
    rep = validate_bars(arr.frame(3), "1m", calendar)
    assert rep.rows_rejected == 0 and rep.quality == 1.0


def test_texture_u_shaped_volume_and_overnight_gaps(calendar):
    p = _provider(calendar)
    syms = [s.symbol for s in build_universe(42, 500) if s.asset_class == "equity"][:200]
    arr = p.generate_session("2024-03-05", syms)
    v = arr.volume.mean(axis=0)
    assert v[:30].mean() > v[150:240].mean() * 1.3 < v[-30:].mean()
    prev = p.generate_session("2024-03-04", syms)
    gaps = np.abs(arr.open[:, 0] / prev.close[:, -1] - 1)
    assert (gaps > 0.001).mean() > 0.3


def test_crypto_trades_around_the_clock(calendar):
    p = _provider(calendar)
    df = p.fetch_bars("BTC/USD", "1m", "2024-11-28", "2024-11-29")  # a US holiday
    assert len(df) == 1440
    assert validate_bars(df, "1m", calendar, crypto=True).quality == 1.0
