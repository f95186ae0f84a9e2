"""Planted patterns are found with their key prices; pattern-free series are left alone.

Flags and pennants share a pole; the pennant's swings narrow (converging lines) where the
flag drifts in a parallel channel, and each must be reported as itself.

Series are straight lines through chosen pivot prices plus seeded iid noise (sd 0.08 on a
~100 price), with the breakout bars' volume tripled.  Key prices must match the planted
geometry within the tolerance stated per case in ``planted.CASES`` (0.2 to 0.7 in price; 0.4 for pennants).
"""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.pattern_analysis.domain import (
    Derived,
    PatternParams,
    Status,
    analyze,
    fractal_pivots,
    reassess,
)
from tests.services.pattern_analysis.planted import (
    CASES,
    DOUBLE_TOP,
    RANGE_BREAKOUT,
    SPIKE,
    mirror,
)
from tests.services.pattern_analysis.series import T0, frame, path_frame

SEEDS = (0, 1, 2)
REVERSALS = {"double_top", "double_bottom", "head_and_shoulders", "inverse_head_and_shoulders"}


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", sorted(CASES))
def test_planted_pattern_is_found_with_key_prices(name: str, seed: int) -> None:
    points, spikes, pattern, expected, tol = CASES[name]
    result = analyze(path_frame(points, seed=seed, spikes={i: SPIKE for i in spikes}))
    hits = [d for d in result.detections if d.pattern == pattern]
    assert hits, f"{pattern} not found; got {[d.pattern for d in result.detections]}"

    def error(d):
        return max(abs(getattr(d, k) - v) for k, v in expected.items())

    best = min(hits, key=error)
    errors = {k: round(getattr(best, k) - v, 3) for k, v in expected.items()}
    assert error(best) <= tol, f"key prices off by more than {tol}: {errors}"
    assert best.status in (Status.CONFIRMED, Status.COMPLETED)
    assert best.confirmed_ts is not None and best.start_ts <= best.confirmed_ts <= best.end_ts
    assert 0.5 <= best.confidence <= 1.0
    assert best.measurements, "the confidence must come with its measurements"
    assert all(best.start_ts <= ts for _, ts, _ in best.pivots)


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize("name", ["double_top", "head_and_shoulders", "ascending_triangle",
                                  "bull_flag"])
def test_other_reversal_patterns_are_not_reported(name: str, seed: int) -> None:
    points, spikes, pattern, _, _ = CASES[name]
    result = analyze(path_frame(points, seed=seed, spikes={i: SPIKE for i in spikes}))
    wrong = {d.pattern for d in result.detections} & (REVERSALS - {pattern})
    assert not wrong, f"{name} series also reported {wrong}"


@pytest.mark.parametrize("seed", SEEDS)
@pytest.mark.parametrize(("name", "other"), [("bull_pennant", "bull_flag"),
                                             ("bear_pennant", "bear_flag"),
                                             ("bull_flag", "bull_pennant"),
                                             ("bear_flag", "bear_pennant")])
def test_pennants_and_flags_are_told_apart(name: str, other: str, seed: int) -> None:
    """A pennant's converging swings are not reported as a flag (nor its first leg down as a
    short flag), and a flag's parallel channel is not reported as a pennant."""
    points, spikes, pattern, _, _ = CASES[name]
    df = path_frame(points, seed=seed, spikes={i: SPIKE for i in spikes})
    found = [d.pattern for d in analyze(df, PatternParams(min_confidence=0.0)).detections]
    assert pattern in found and other not in found, found


def test_double_top_statuses_follow_the_bars() -> None:
    """Cut the series before the break (forming), after it (confirmed), after the target."""
    spikes = {i: SPIKE for i in range(146, 156)}
    full = path_frame(DOUBLE_TOP + [(230, 92)], seed=0, spikes=spikes)

    def status_at(n: int) -> Status:
        hits = [d for d in analyze(full.iloc[:n]).detections if d.pattern == "double_top"]
        assert hits, f"no double top in the first {n} bars"
        return hits[0].status

    assert status_at(140) == Status.FORMING
    assert status_at(160) == Status.CONFIRMED
    assert status_at(231) == Status.COMPLETED


def test_failed_double_top_is_invalidated() -> None:
    """Forming at bar 130; the rally through the tops invalidates it (and drops its confidence
    under ``min_confidence``, so only an unfiltered run or ``reassess`` still shows it)."""
    df = path_frame(DOUBLE_TOP[:4] + [(135, 99.0), (170, 103.0)], seed=1)
    early = [d for d in analyze(df.iloc[:131]).detections if d.pattern == "double_top"]
    assert len(early) == 1 and early[0].status == Status.FORMING
    everything = PatternParams(min_confidence=0.0)
    late = [d for d in analyze(df, everything).detections if d.pattern == "double_top"]
    assert [d.status for d in late] == [Status.INVALIDATED]
    assert late[0].confidence < early[0].confidence
    moved = reassess(early[0], Derived.from_frame(df), PatternParams())
    assert moved.status == Status.INVALIDATED and moved.resolved_ts is not None


def test_breakout_without_volume_is_not_reported() -> None:
    quiet = analyze(path_frame(RANGE_BREAKOUT, seed=0))
    loud = analyze(path_frame(RANGE_BREAKOUT, seed=0, spikes={i: SPIKE for i in range(140, 146)}))
    assert "breakout" not in {d.pattern for d in quiet.detections}
    brk = [d for d in loud.detections if d.pattern == "breakout"]
    assert brk and brk[0].measurements["rel_volume"] >= 1.5


def test_levels_cluster_touches_into_support_and_resistance() -> None:
    result = analyze(path_frame(RANGE_BREAKOUT[:8], seed=2, noise=0.03))
    res = [lv for lv in result.levels if abs(lv.price - 100.0) < 0.2]
    sup = [lv for lv in result.levels if abs(lv.price - 98.0) < 0.15]
    assert res and res[0].kind == "resistance" and res[0].touches >= 3
    # the third low was planted at 98.2, outside the clustering tolerance: two touches
    assert sup and sup[0].kind == "support" and sup[0].touches == 2
    assert all(0 <= lv.strength <= 1 for lv in result.levels)
    assert res[0].strength >= min(lv.strength for lv in result.levels)


def test_rising_channel_and_trendlines() -> None:
    points = [(i * 20, 100 + i * 0.6 + (1.5 if i % 2 else 0)) for i in range(12)]
    result = analyze(path_frame(points, seed=3, noise=0.05))
    names = {d.pattern for d in result.detections}
    assert {"support_trendline", "resistance_trendline", "channel_up"} <= names
    chan = next(d for d in result.detections if d.pattern == "channel_up")
    assert chan.upper is not None and chan.lower is not None
    assert chan.upper - chan.lower == pytest.approx(1.5, abs=0.4)


def _gap_frame(fill: bool) -> pd.DataFrame:
    rng = np.random.default_rng(5)
    close = np.concatenate([100 + rng.normal(0, 0.03, 60), 102 + rng.normal(0, 0.03, 60)])
    if fill:
        close[100:] = np.linspace(102, 99.5, 20)
    df = frame(close, rng, 0.03)
    # The gap is at the open: bar 60 opens at its close, clear of bar 59's range.
    df.loc[df.index[60], ["open", "low"]] = [close[60], min(close[60], df.low.iloc[60] + 2)]
    return df


def test_gap_up_and_whether_it_filled() -> None:
    open_gap = [d for d in analyze(_gap_frame(False)).detections if d.pattern == "gap_up"]
    filled = [d for d in analyze(_gap_frame(True)).detections if d.pattern == "gap_up"]
    assert len(open_gap) == 1 and open_gap[0].status == Status.ACTIVE
    assert open_gap[0].lower == pytest.approx(100.0, abs=0.2)
    assert open_gap[0].upper == pytest.approx(102.0, abs=0.2)
    assert open_gap[0].start_ts == int((T0 + pd.Timedelta(minutes=59)).value)
    assert len(filled) == 1 and filled[0].status == Status.COMPLETED
    assert filled[0].resolved_ts is not None


def test_no_lookahead_pivots_need_bars_after_them() -> None:
    high = np.array([1, 2, 3, 9, 3, 2, 1, 2], dtype=float)
    assert [p.idx for p in fractal_pivots(high, high - 1, 3) if p.kind == "H"] == [3]
    assert fractal_pivots(high[:6], high[:6] - 1, 3) == []


def test_mirror_consistency() -> None:
    """A double bottom is exactly a double top upside down."""
    top = [d for d in analyze(path_frame(DOUBLE_TOP, seed=4)).detections
           if d.pattern == "double_top"]
    df = path_frame(DOUBLE_TOP, seed=4)
    flipped = pd.DataFrame({"open": 200 - df.open, "high": 200 - df.low, "low": 200 - df.high,
                            "close": 200 - df.close, "volume": df.volume}, index=df.index)
    bottom = [d for d in analyze(flipped).detections if d.pattern == "double_bottom"]
    assert len(top) == len(bottom) == 1
    assert bottom[0].neckline == pytest.approx(200 - top[0].neckline)
    assert bottom[0].target == pytest.approx(200 - top[0].target)
    assert mirror(DOUBLE_TOP)[1] == (60, 100.0)


def test_bad_frame_is_rejected_with_a_message() -> None:
    with pytest.raises(ValueError, match="volume"):
        analyze(pd.DataFrame({"open": [1.0], "high": [1.0], "low": [1.0], "close": [1.0]},
                             index=pd.DatetimeIndex([T0])))


def test_short_series_gives_nothing() -> None:
    result = analyze(path_frame([(0, 100), (5, 101)], seed=0), PatternParams())
    assert result.detections == [] and result.levels == []
