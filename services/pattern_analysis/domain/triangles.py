"""Ascending, descending and symmetric triangles from runs of five or six zigzag pivots."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from services.pattern_analysis.domain.lifecycle import Resolution, resolve
from services.pattern_analysis.domain.lines import Line, first_cross, fit_points
from services.pattern_analysis.domain.model import (
    Bars,
    Detection,
    Direction,
    PatternParams,
    Pivot,
    Status,
    clip01,
    weighted_score,
)

_WEIGHTS = {"fit": 1.0, "touches": 0.5, "height": 1.0, "confirmation": 1.5, "volume": 1.0}


def _neg(line: Line) -> Line:
    return Line(-line.slope, -line.intercept, line.max_resid, line.r2)


def _shape(up: float, lo: float, flat: float) -> str | None:
    """Name the triangle from how far each line moves over the span, as a fraction of height."""
    if abs(up) <= flat and lo > flat:
        return "ascending_triangle"
    if up < -flat and abs(lo) <= flat:
        return "descending_triangle"
    if up < -flat and lo > flat:
        return "symmetric_triangle"
    return None


def _resolve_side(bars: Bars, start: int, hi: Line, lo: Line, height: float, bullish: bool,
                  buffer: float, params: PatternParams, last: int) -> Resolution:
    if bullish:
        return resolve(bars, start, hi, height, float(lo.at(last)), buffer, params.expiry_bars)
    r = resolve(bars.mirror(), start, _neg(lo), height, -float(hi.at(last)), buffer,
                params.expiry_bars)
    return replace(r, breakout_price=-r.breakout_price, target=-r.target)


def triangles(bars: Bars, zz: list[Pivot], params: PatternParams) -> list[Detection]:
    """Return triangles: a flat or falling upper line over highs and a rising or flat lower
    line under lows, converging, at least ``min_pattern_height_atr`` tall at the start.

    Ascending triangles break up and descending ones down (a break the other way invalidates
    them); a symmetric triangle takes the direction of whichever side breaks first.
    """
    out: list[Detection] = []
    n = len(bars)
    for size in sorted({params.triangle_pivots, 6}, reverse=True):
        for i in range(0, len(zz) - size + 1):
            run = zz[i:i + size]
            first, last = run[0], run[-1]
            span = last.idx - first.idx
            if span <= 0 or span > params.max_pattern_bars:
                continue
            highs = [p for p in run if p.kind == "H"]
            lows = [p for p in run if p.kind == "L"]
            atr = float(bars.atr[last.idx])
            hi = fit_points([p.idx for p in highs], [p.price for p in highs])
            lo = fit_points([p.idx for p in lows], [p.price for p in lows])
            height = float(hi.at(first.idx) - lo.at(first.idx))
            width_end = float(hi.at(last.idx) - lo.at(last.idx))
            if height < params.min_pattern_height_atr * atr or width_end <= 0:
                continue
            # Real triangles are not ruled lines: the tolerance grows with the pattern.
            tol = max(params.triangle_tolerance_atr * atr, params.line_tolerance_height * height)
            if hi.max_resid > tol or lo.max_resid > tol:
                continue
            # Each swing of a triangle is shorter than the last one in the same direction.
            swings = np.abs(np.diff([p.price for p in run]))
            if (swings[2:] - swings[:-2] > tol).any():
                continue
            shape = _shape(hi.slope * span / height, lo.slope * span / height, params.flat_ratio)
            if shape is None:
                continue
            if width_end > params.triangle_max_end_width * height:
                continue
            buffer = params.break_buffer_atr * atr
            start = last.idx + 1
            up = first_cross(bars.close, start, hi, True, buffer)
            down = first_cross(bars.close, start, lo, False, buffer)
            if shape == "ascending_triangle":
                bullish = True
            elif shape == "descending_triangle":
                bullish = False
            else:
                bullish = not (down >= 0 and (up < 0 or down < up))
            res = _resolve_side(bars, start, hi, lo, height, bullish, buffer, params, last.idx)
            confirmed = res.confirm_idx >= 0
            parts = {"fit": clip01(1 - max(hi.max_resid, lo.max_resid) / tol),
                     "touches": clip01((size - 4) / 2),
                     "height": clip01(height / atr / (2 * params.min_pattern_height_atr)),
                     "confirmation": 1.0 if res.status == Status.COMPLETED else 0.9 if confirmed
                     else 0.4 if res.status == Status.FORMING else 0.0,
                     "volume": clip01(res.rel_volume / params.breakout_rel_volume)
                     if confirmed else 0.0}
            direction = (Direction.BULLISH if bullish else Direction.BEARISH)
            if shape == "symmetric_triangle" and not confirmed:
                direction = Direction.NEUTRAL
            end = (res.resolved_idx if res.resolved_idx >= 0 else
                   res.confirm_idx if confirmed else last.idx)
            ref = res.confirm_idx if confirmed else n - 1
            out.append(Detection(
                pattern=shape, direction=direction, status=res.status,
                start_ts=int(bars.ts[first.idx]), end_ts=int(bars.ts[end]),
                pivots=tuple((f"{'high' if p.kind == 'H' else 'low'}{k + 1}", int(bars.ts[p.idx]),
                              p.price) for k, p in enumerate(run)),
                confidence=weighted_score(parts, _WEIGHTS),
                measurements={**parts, "height_atr": height / atr,
                              "upper_slope_atr_per_bar": hi.slope / atr,
                              "lower_slope_atr_per_bar": lo.slope / atr,
                              "breakout_rel_volume": res.rel_volume},
                breakout_level=res.breakout_price, target=res.target,
                invalidation=float(lo.at(last.idx)) if bullish else float(hi.at(last.idx)),
                upper=float(hi.at(ref)), lower=float(lo.at(ref)),
                confirmed_ts=int(bars.ts[res.confirm_idx]) if confirmed else None,
                resolved_ts=int(bars.ts[res.resolved_idx]) if res.resolved_idx >= 0 else None))
    return out
