"""Every scanner filter on a constructed universe, plus ranking and explanations."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
import talib

from services.scanner.domain import Filters, Panel, ScanParams, scan

DAYS = pd.bdate_range("2024-01-02", periods=31, tz="America/New_York")
INTRA_DAYS = DAYS[-11:]  # ten earlier sessions for relative volume + the current one
BARS = 78
SYMS = ["NRM", "LOW", "GAP", "VOL", "UP", "DOWN", "HIGH", "TECH"]
IDX = {s: i for i, s in enumerate(SYMS)}


def build(days: pd.DatetimeIndex = DAYS[:-1]) -> Panel:
    """The universe with daily bars of ``days`` (stamped like Alpaca's: 00:00 New York)."""
    s, t = len(SYMS), len(INTRA_DAYS) * BARS
    rng = np.random.default_rng(0)
    ts = np.concatenate([(d + pd.Timedelta(hours=9, minutes=30) +
                          pd.to_timedelta(np.arange(BARS) * 5, "min")).tz_convert("UTC")
                         .as_unit("ns").asi8 for d in INTRA_DAYS])
    close = 50 + rng.normal(0, 0.05, (s, t))
    vol = np.full((s, t), 1000.0)
    today = slice(t - BARS, t)
    close[IDX["LOW"]] = 1.5
    close[IDX["GAP"], today] = 55.0
    vol[IDX["VOL"], today] = 5000.0
    close[IDX["UP"], -12:] = np.linspace(50.2, 53.0, 12)
    close[IDX["DOWN"], -12:] = np.linspace(49.8, 47.0, 12)
    close[IDX["HIGH"], -1] = 58.0
    opn = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    opn[IDX["GAP"], t - BARS] = 55.0
    high, low = np.maximum(opn, close) + 0.01, np.minimum(opn, close) - 0.01
    dts = days.tz_convert("UTC").as_unit("ns").asi8
    dclose = np.full((s, dts.size), 50.0)
    dclose[IDX["LOW"]] = 1.5
    dhigh, dlow = dclose * 1.02, dclose * 0.98
    dhigh[IDX["GAP"]], dlow[IDX["GAP"]] = 52.5, 47.5  # ATR 10% of price
    dvol = np.full((s, dts.size), 78_000.0)
    dvol[IDX["NRM"]] = 10_000.0
    sectors = np.array(["Energy"] * (s - 1) + ["Technology"])
    return Panel(np.array(SYMS), sectors, ts, opn, high, low, close, vol, dts, dhigh, dlow,
                 dclose, dvol, ScanParams())


PANEL = build()


def test_the_current_sessions_own_daily_bar_is_not_a_previous_day() -> None:
    """Once the session has closed its daily bar (stamped 00:00 New York, before the
    session's first intraday bar) is visible too: it must not count as the previous day."""
    closed = build(DAYS)
    assert closed.daily_ts[-1] < closed.ts[closed.session_start]
    assert np.array_equal(closed._prev_days, PANEL._prev_days)
    assert np.array_equal(closed.prev_close, PANEL.prev_close)


def names(**filters: object) -> set[str]:
    matches, _ = scan(PANEL, Filters(**filters), limit=100)
    return {m.symbol for m in matches}


ALL = set(SYMS)


@pytest.mark.parametrize(("filters", "expected"), [
    ({"min_price": 2}, ALL - {"LOW"}),
    ({"max_price": 2}, {"LOW"}),
    ({"min_avg_volume": 50_000}, ALL - {"NRM"}),
    ({"min_rvol": 3}, {"VOL"}),
    ({"min_gap_pct": 5}, {"GAP"}),
    ({"max_gap_pct": -5}, set()),
    ({"min_change_pct": 4}, {"UP", "HIGH"}),
    ({"max_change_pct": -4}, {"DOWN"}),
    ({"min_atr_pct": 5}, {"GAP"}),
    ({"max_atr_pct": 5, "min_price": 2}, ALL - {"LOW", "GAP"}),
    ({"new_high": True}, {"GAP", "HIGH", "UP"}),
    ({"new_low": True}, {"DOWN"}),
    ({"above_vwap": True, "min_change_pct": 1}, {"UP", "HIGH"}),
    ({"below_vwap": True, "max_change_pct": -1}, {"DOWN"}),
    ({"min_rsi": 80}, {"UP", "HIGH", "GAP"}),  # Wilder RSI keeps GAP's jump
    ({"max_rsi": 20}, {"DOWN", "LOW"}),  # TA-Lib gives 0 for a flat series
    ({"sectors": ["Technology"]}, {"TECH"}),
    ({"exclude": ["NRM", "LOW"]}, ALL - {"NRM", "LOW"}),
])
def test_each_filter(filters: dict[str, object], expected: set[str]) -> None:
    assert names(**filters) == expected


def test_metrics_match_hand_and_talib_values() -> None:
    i = IDX["GAP"]
    assert PANEL.gap_pct[i] == pytest.approx(10.0)
    assert PANEL.rvol[IDX["VOL"]] == pytest.approx(5.0)
    assert PANEL.rvol[IDX["NRM"]] == pytest.approx(1.0)
    assert PANEL.avg_volume[IDX["NRM"]] == 10_000.0
    assert PANEL.rsi[IDX["UP"]] == pytest.approx(talib.RSI(PANEL.close[IDX["UP"]], 14)[-1])
    atr = talib.ATR(PANEL.daily_high[i], PANEL.daily_low[i], PANEL.daily_close[i], 14)[-1]
    assert PANEL.atr_pct[i] == pytest.approx(atr / 50.0 * 100) == pytest.approx(10.0)


def test_ranking_and_explanations() -> None:
    matches, total = scan(PANEL, Filters(min_change_pct=1, min_price=2), limit=1)
    assert total == 2 and len(matches) == 1  # UP (+5.9%) and HIGH (+16%), best one only
    top = matches[0]
    assert top.symbol == "HIGH"
    expl = {e["filter"]: e for e in top.explanation}
    assert expl["min_change_pct"]["value"] == pytest.approx(PANEL.change_pct[IDX["HIGH"]])
    assert expl["min_change_pct"]["threshold"] == 1 and expl["min_price"]["passed"]


def test_contradictory_filters_are_refused() -> None:
    with pytest.raises(ValueError, match="min_rsi"):
        Filters(min_rsi=70, max_rsi=30)
    with pytest.raises(ValueError):
        Filters(above_vwap=True, below_vwap=True)


def test_scanner_rvol_is_the_shared_relative_volume_at_the_last_bar() -> None:
    from shared.ta import custom

    full = custom.relative_volume(PANEL.ts, PANEL.volume, sessions=10, cumulative=True)
    np.testing.assert_allclose(PANEL.rvol, full[:, -1], rtol=1e-12)
