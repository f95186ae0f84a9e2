"""Breakouts and breakdowns of support/resistance confirmed by relative volume; price gaps."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from services.pattern_analysis.domain.levels import level_groups
from services.pattern_analysis.domain.lifecycle import resolve
from services.pattern_analysis.domain.lines import Line, first_cross
from services.pattern_analysis.domain.model import (
    Derived,
    Detection,
    Direction,
    PatternParams,
    Pivot,
    Status,
    clip01,
    weighted_score,
)

_WEIGHTS = {"touches": 1.0, "volume": 1.5, "follow_through": 1.0}


def level_breaks(bars: Derived, pivots: list[Pivot], params: PatternParams) -> list[Detection]:
    """Return the first close through each level after it was touched ``min_level_touches``
    times, kept only when that bar's relative volume is at least ``breakout_rel_volume``.

    The measured-move target is the height of the range before the break; a close back
    through the level by ``level_tolerance_atr`` ATR invalidates it.
    """
    n = len(bars)
    out = []
    unit = bars.atr_median
    for g in level_groups(pivots, bars, params):
        touches = sorted(g, key=lambda p: p.idx)
        level = float(np.mean([p.price for p in touches]))
        q = touches[params.min_level_touches - 1].idx + params.pivot_window
        if q >= n - 1:
            continue
        below = bars.close[q] < level
        buffer = params.break_buffer_atr * unit
        line = Line(0.0, level, 0.0, 1.0)
        c = first_cross(bars.close, q + 1, line, below, buffer)
        if c < 0 or bars.rel_vol[c] < params.breakout_rel_volume:
            continue
        first = touches[0].idx
        used = [p for p in touches if p.idx < c]
        tol = params.level_tolerance_atr * unit
        if below:
            height = level - float(bars.low[first:c].min())
            res = resolve(bars, c, line, height, level - tol, 0.0, params.expiry_bars,
                          check_before=False)
            det_dir, name, mirror = Direction.BULLISH, "breakout", False
        else:
            height = float(bars.high[first:c].max()) - level
            res = resolve(bars.mirror(), c, Line(0.0, -level, 0.0, 1.0), height, -(level + tol),
                          0.0, params.expiry_bars, check_before=False)
            res = replace(res, breakout_price=-res.breakout_price, target=-res.target)
            det_dir, name, mirror = Direction.BEARISH, "breakdown", True
        beyond = (bars.close[c] - level) * (-1 if mirror else 1) / unit
        parts = {"touches": clip01((len(used) - 1) / 3),
                 "volume": clip01(bars.rel_vol[c] / (2 * params.breakout_rel_volume)),
                 "follow_through": clip01(beyond)}
        end = res.resolved_idx if res.resolved_idx >= 0 else c
        out.append(Detection(
            pattern=name, direction=det_dir, status=res.status,
            start_ts=int(bars.ts[first]), end_ts=int(bars.ts[end]),
            pivots=tuple((f"touch{k + 1}", int(bars.ts[p.idx]), p.price)
                         for k, p in enumerate(used)),
            confidence=weighted_score(parts, _WEIGHTS),
            measurements={**parts, "rel_volume": float(bars.rel_vol[c]),
                          "touch_count": float(len(used)), "close_beyond_atr": float(beyond),
                          "range_height_atr": height / unit},
            breakout_level=level, target=res.target,
            invalidation=level - tol if below else level + tol,
            confirmed_ts=int(bars.ts[c]),
            resolved_ts=int(bars.ts[res.resolved_idx]) if res.resolved_idx >= 0 else None))
    return out


def gaps(bars: Derived, params: PatternParams) -> list[Detection]:
    """Return gaps of at least ``gap_min_atr`` ATR between one bar's range and the next, each
    ``completed`` once a later bar trades back to the far side (filled)."""
    n = len(bars)
    if n < 2:
        return []
    h, lo, atr = bars.high, bars.low, bars.atr
    up = np.flatnonzero(lo[1:] - h[:-1] >= params.gap_min_atr * atr[:-1]) + 1
    down = np.flatnonzero(lo[:-1] - h[1:] >= params.gap_min_atr * atr[:-1]) + 1
    out = []
    for i, bullish in [(int(i), True) for i in up] + [(int(i), False) for i in down]:
        top, bottom = (float(lo[i]), float(h[i - 1])) if bullish else (float(lo[i - 1]), float(h[i]))
        fill_level = bottom if bullish else top
        later = lo[i + 1:] <= fill_level if bullish else h[i + 1:] >= fill_level
        j = int(np.argmax(later)) if len(later) else 0
        filled = bool(len(later) and later[j])
        size = (top - bottom) / atr[i - 1]
        parts = {"size": clip01(size / (4 * params.gap_min_atr)),
                 "volume": clip01(bars.rel_vol[i] / (2 * params.breakout_rel_volume))}
        fill_idx = i + 1 + j if filled else -1
        out.append(Detection(
            pattern="gap_up" if bullish else "gap_down",
            direction=Direction.BULLISH if bullish else Direction.BEARISH,
            status=Status.COMPLETED if filled else Status.ACTIVE,
            start_ts=int(bars.ts[i - 1]), end_ts=int(bars.ts[fill_idx if filled else i]),
            pivots=(("gap_bar", int(bars.ts[i]), float(bars.open[i])),),
            confidence=weighted_score(parts, {"size": 1.0, "volume": 1.0}),
            measurements={**parts, "size_atr": float(size), "rel_volume": float(bars.rel_vol[i]),
                          "filled": 1.0 if filled else 0.0},
            target=fill_level, upper=top, lower=bottom,
            resolved_ts=int(bars.ts[fill_idx]) if filled else None))
    return out
