"""Run every detector over one symbol's bars, and re-check stored detections on new bars."""
from __future__ import annotations

from dataclasses import dataclass, replace

import numpy as np
import pandas as pd

from services.pattern_analysis.domain.breakouts import gaps, level_breaks
from services.pattern_analysis.domain.flags import bull_flags
from services.pattern_analysis.domain.levels import support_resistance
from services.pattern_analysis.domain.lines import trendlines
from services.pattern_analysis.domain.model import (
    Derived,
    Detection,
    Direction,
    Level,
    PatternParams,
    Pivot,
    Status,
)
from services.pattern_analysis.domain.pivots import zigzag
from services.pattern_analysis.domain.reversals import double_bottoms, inverse_head_and_shoulders
from services.pattern_analysis.domain.triangles import triangles

#: Every pattern name a detection can carry.
PATTERNS = (
    "double_top", "double_bottom", "head_and_shoulders", "inverse_head_and_shoulders",
    "ascending_triangle", "descending_triangle", "symmetric_triangle",
    "bull_flag", "bear_flag", "bull_pennant", "bear_pennant",
    "breakout", "breakdown", "gap_up", "gap_down",
    "support_trendline", "resistance_trendline", "channel_up", "channel_down", "channel_flat",
)
DEFAULT_PARAMS = PatternParams()
_MIRROR_NAMES = {"double_bottom": "double_top", "inverse_head_and_shoulders": "head_and_shoulders",
                 "bull_flag": "bear_flag", "bull_pennant": "bear_pennant"}


@dataclass(frozen=True)
class Analysis:
    """Everything found in one symbol's bars."""

    levels: list[Level]
    detections: list[Detection]
    pivots: list[Pivot]
    bars: int
    last_ts: int | None


def _bullish_detectors(bars: Derived, zz: list[Pivot], params: PatternParams) -> list[Detection]:
    return (double_bottoms(bars, zz, params) + inverse_head_and_shoulders(bars, zz, params)
            + bull_flags(bars, zz, params))


def _dedupe(dets: list[Detection]) -> list[Detection]:
    """Keep the most confident of detections of one pattern sharing three or more pivots
    (a triangle seen through five and through six pivots is one triangle)."""
    kept: list[Detection] = []
    for d in sorted(dets, key=lambda x: -x.confidence):
        mine = {t for _, t, _ in d.pivots}
        if any(k.pattern == d.pattern and len(mine & {t for _, t, _ in k.pivots}) >= 3
               for k in kept):
            continue
        kept.append(d)
    return kept


def analyze_bars(bars: Derived, params: PatternParams = DEFAULT_PARAMS) -> Analysis:
    """Return levels and every detection (confidence >= ``min_confidence``) in ``bars``."""
    if len(bars) < 2 * params.pivot_window + 2:
        return Analysis([], [], [], len(bars), int(bars.ts[-1]) if len(bars) else None)
    zz = zigzag(bars, params.pivot_window, params.min_swing_atr)
    mirrored = bars.mirror()
    zz_m = [p.mirrored() for p in zz]
    dets = _bullish_detectors(bars, zz, params)
    dets += [d.mirrored(_MIRROR_NAMES[d.pattern]) for d in _bullish_detectors(mirrored, zz_m, params)]
    dets += triangles(bars, zz, params)
    dets += level_breaks(bars, zz, params) + gaps(bars, params) + trendlines(bars, zz, params)
    dets = [d for d in _dedupe(dets) if d.confidence >= params.min_confidence]
    dets.sort(key=lambda d: (d.start_ts, d.pattern))
    return Analysis(support_resistance(bars, zz, params), dets, zz, len(bars), int(bars.ts[-1]))


def analyze(df: pd.DataFrame, params: PatternParams = DEFAULT_PARAMS) -> Analysis:
    """Return the analysis of a bar frame (UTC index; open, high, low, close, volume).

    Raises:
        ValueError: when the frame lacks a column or a DatetimeIndex.
    """
    return analyze_bars(Derived.from_frame(df, params), params)


def reassess(det: Detection, bars: Derived, params: PatternParams) -> Detection:
    """Return ``det`` with its status moved on by the bars after its ``end_ts``.

    Used for stored detections that a fresh analysis no longer finds (their pivots left the
    window): a forming pattern is confirmed by a close through ``breakout_level``, invalidated
    by price through ``invalidation`` or expires after ``expiry_bars``; a confirmed one
    completes at ``target`` or is invalidated by a close through ``invalidation``; an open gap
    completes when filled.  Lines and anything without the needed prices expire.
    """
    if not det.status.open:
        return det
    after = np.flatnonzero(bars.ts > det.end_ts)
    if len(after) == 0:
        return det
    start = int(after[0])
    if det.pattern in ("gap_up", "gap_down") and det.target is not None:
        filled = (bars.low[start:] <= det.target if det.pattern == "gap_up"
                  else bars.high[start:] >= det.target)
        k = _first(filled)
        return det if k < 0 else _moved(det, Status.COMPLETED, bars, start + k)
    sign = -1.0 if det.direction == Direction.BEARISH else 1.0
    hi, lo, close = ((bars.high, bars.low, bars.close) if sign > 0
                     else (-bars.low, -bars.high, -bars.close))
    if None in (det.breakout_level, det.target, det.invalidation) or det.direction == Direction.NEUTRAL:
        return _moved(det, Status.EXPIRED, bars, start)
    brk, tgt, inv = (sign * x for x in (det.breakout_level, det.target, det.invalidation))
    if det.status == Status.FORMING:
        conf = _first(close[start:] > brk)
        bad = _first(close[start:] < inv)
        if bad >= 0 and (conf < 0 or bad <= conf):
            return _moved(det, Status.INVALIDATED, bars, start + bad)
        if conf < 0:
            since = len(bars) - 1 - start
            return _moved(det, Status.EXPIRED, bars, start) if since > params.expiry_bars else det
        det = replace(det, status=Status.CONFIRMED, confirmed_ts=int(bars.ts[start + conf]),
                      end_ts=int(bars.ts[start + conf]))
        start = start + conf + 1
    done = _first(hi[start:] >= tgt)
    bad = _first(close[start:] < inv)
    if done >= 0 and (bad < 0 or done <= bad):
        return _moved(det, Status.COMPLETED, bars, start + done)
    if bad >= 0:
        return _moved(det, Status.INVALIDATED, bars, start + bad)
    return det


def unfollowed(det: Detection, bars: Derived) -> Detection:
    """Return ``det``, if open, expired at the window's first bar: the bars between the last
    analysis and this window were never analysed (the clock jumped past them), so it cannot
    be followed.  Kept open it voted on a session weeks later, or not, depending on whether
    a cycle had run before the jump (issue 21)."""
    return _moved(det, Status.EXPIRED, bars, 0) if det.status.open else det


def _first(mask: np.ndarray) -> int:
    if len(mask) == 0:
        return -1
    k = int(np.argmax(mask))
    return k if mask[k] else -1


def _moved(det: Detection, status: Status, bars: Derived, idx: int) -> Detection:
    if idx < 0 or idx >= len(bars):
        return det
    return replace(det, status=status, resolved_ts=int(bars.ts[idx]), end_ts=int(bars.ts[idx]))
