"""Candlestick detection and reliability statistics on hand-built and seeded bars."""
from __future__ import annotations

import numpy as np
import pytest
import talib

from services.pattern_recognition.domain import (
    PATTERNS,
    detect_arrays,
    detect_frame,
    forward_outcomes,
    pattern_matrix,
    summarize,
    tod_buckets,
)
from services.pattern_recognition.feed import bar_end_ns, ts_ns
from tests.services.pattern_recognition.factories import arrays, quiet_prefix, session_frame


def test_all_61_talib_candlestick_functions_are_covered():
    assert len(PATTERNS) == 61
    assert set(PATTERNS) == set(talib.get_function_groups()["Pattern Recognition"])


def test_matrix_equals_a_direct_talib_loop_on_random_bars():
    df = session_frame(["2024-03-04", "2024-03-05"], seed=3)
    o, h, lo, c = (df[k].to_numpy() for k in ("open", "high", "low", "close"))
    m = pattern_matrix(o, h, lo, c)
    assert m.shape == (61, len(df))
    for i, name in enumerate(PATTERNS):
        np.testing.assert_array_equal(m[i], getattr(talib, name)(o, h, lo, c), err_msg=name)
    det = detect_arrays(o, h, lo, c)
    assert len(det) == np.count_nonzero(m) > 0
    assert np.all(np.diff(det.bar) >= 0)  # ordered by bar
    assert np.array_equal(det.value, m[det.pattern, det.bar])


@pytest.mark.parametrize("candles, expect", [
    # black marubozu, then a white marubozu gapping above it: bullish kicking
    ([(101, 101, 99, 99), (101.5, 103.5, 101.5, 103.5)], 100),
    # white marubozu, then a black marubozu gapping below it: bearish kicking
    ([(99, 101, 99, 101), (98.5, 98.5, 96.5, 96.5)], -100),
])
def test_kicking_on_hand_built_bars(candles, expect):
    o, h, lo, c = arrays(quiet_prefix() + candles)
    det = detect_arrays(o, h, lo, c, patterns=("CDLKICKING",))
    assert list(det.bar) == [len(o) - 1]
    assert list(det.value) == [expect]


@pytest.mark.parametrize("candles, expect", [
    # the longer marubozu decides: a longer white second candle is bullish...
    ([(101, 101, 99.5, 99.5), (101.5, 103.5, 101.5, 103.5)], 100),
    # ... and a longer black first candle is bearish even though the second is white
    ([(101, 101, 98, 98), (101.5, 103.5, 101.5, 103.5)], -100),
])
def test_kicking_by_length_on_hand_built_bars(candles, expect):
    o, h, lo, c = arrays(quiet_prefix() + candles)
    det = detect_arrays(o, h, lo, c, patterns=("CDLKICKINGBYLENGTH",))
    assert list(det.value) == [expect]


def test_quiet_bars_alone_do_not_kick():
    o, h, lo, c = arrays(quiet_prefix(20))
    det = detect_arrays(o, h, lo, c, patterns=("CDLKICKING", "CDLKICKINGBYLENGTH"))
    assert len(det) == 0


def test_engulfing_detection_carries_direction_strength_and_time():
    candles = quiet_prefix() + [(100.5, 100.6, 99.9, 100.0), (99.9, 100.8, 99.8, 100.7)]
    df = session_frame(["2024-03-04"]).iloc[: len(candles)].copy()
    o, h, lo, c = arrays(candles)
    df["open"], df["high"], df["low"], df["close"] = o, h, lo, c
    ends = bar_end_ns(ts_ns(df.index), "5m")
    dets = detect_frame("ABC", "5m", df, ends, patterns=("CDLENGULFING",))
    assert len(dets) == 1
    d = dets[0]
    assert (d.pattern, d.direction, d.bias, d.value, d.strength) == (
        "CDLENGULFING", 1, "bullish", 100, 1.0)
    assert d.ts == df.index[-1].to_pydatetime()
    assert (d.visible_at - d.ts).total_seconds() == 300
    assert d.close == 100.7
    assert d.tod_bucket == "10:30"  # 13 five-minute bars after the 09:30 open (EST)


def test_confirmed_patterns_have_strength_two():
    df = session_frame(["2024-03-04", "2024-03-05", "2024-03-06"], seed=11)
    ends = bar_end_ns(ts_ns(df.index), "5m")
    dets = detect_frame("ABC", "5m", df, ends)
    confirmed = [d for d in dets if abs(d.value) == 200]
    assert confirmed, "seeded data should contain a confirmed Hikkake"
    assert all(d.strength == 2.0 and d.pattern.startswith("CDLHIKKAKE") for d in confirmed)
    assert all(d.strength == 1.0 for d in dets if abs(d.value) == 100)


def test_start_ts_reports_only_later_bars_with_the_same_values():
    df = session_frame(["2024-03-04", "2024-03-05"], seed=5)
    ends = bar_end_ns(ts_ns(df.index), "5m")
    full = detect_frame("ABC", "5m", df, ends)
    cut = df.index[100]
    tail = detect_frame("ABC", "5m", df.iloc[60:], ends[60:], start_ts=cut)
    assert tail == [d for d in full if d.ts >= cut.to_pydatetime()]


def test_tod_buckets_in_exchange_time():
    df = session_frame(["2024-07-01"], timeframe_minutes=15)  # EDT: open 13:30 UTC
    b = tod_buckets(df.index, 30, "America/New_York", daily=False)
    assert list(b[:4]) == ["09:30", "09:30", "10:00", "10:00"]
    assert b[-1] == "15:30"


def test_forward_outcomes_use_bar_t_plus_k_and_its_close_time():
    ts = np.arange(10, dtype="int64") * 60
    close = np.array([10, 11, 12, 9, 10, 10, 10, 10, 10, 20], dtype="float64")
    ends = ts + 60
    outs = forward_outcomes(np.array([ts[0], ts[8]]), np.array([10.0, 10.0]),
                            np.array([1.0, -1.0]), ts, close, ends, [1, 3])
    got = {(o.index, o.horizon): o for o in outs}
    assert set(got) == {(0, 1), (0, 3), (1, 1)}  # bar 8 + 3 is not there yet
    assert got[(0, 1)].ret == pytest.approx(0.1)
    assert got[(0, 3)].ret == pytest.approx(-0.1)
    assert got[(0, 3)].available_at_ns == ends[3]
    assert got[(1, 1)].signed_ret == pytest.approx(-1.0)  # bearish call, price doubled


def test_summarize_hit_rate_win_loss_expectancy():
    s = summarize(np.array([0.02, -0.01, 0.04, 0.0, -0.03]))
    assert s.samples == 5
    assert s.hit_rate == pytest.approx(0.4)
    assert s.avg_win == pytest.approx(0.03)
    assert s.avg_loss == pytest.approx(-0.02)
    assert s.expectancy == pytest.approx(0.4 * 0.03 + 0.4 * -0.02)
    assert s.expectancy == pytest.approx(np.mean([0.02, -0.01, 0.04, 0.0, -0.03]))
    empty = summarize(np.array([]))
    assert empty.samples == 0 and empty.hit_rate is None
