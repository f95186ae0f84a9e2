"""Ascending, descending and symmetric triangles from runs of five or six zigzag pivots."""
from __future__ import annotations

from dataclasses import replace

import numpy as np

from services.pattern_analysis.domain.lifecycle import Resolution, resolve
from services.pattern_analysis.domain.lines import Line, first_cross, fit_points
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


def _resolve_side(bars: Derived, start: int, hi: Line, lo: Line, height: float, bullish: bool,
                  buffer: float, params: PatternParams, last: int) -> Resolution:
    if bullish:
        return resolve(bars, start, hi, height, float(lo.at(last)), buffer, params.expiry_bars)
    r = resolve(bars.mirror(), start, _neg(lo), height, -float(hi.at(last)), buffer,
                params.expiry_bars)
    return replace(r, breakout_price=-r.breakout_price, target=-r.target)


def _maybe_tall(bars: Derived, zz: list[Pivot], size: int, params: PatternParams) -> np.ndarray:
    """Return, for each run of ``size`` pivots, False when it surely fails the height and
    width checks of ``triangles`` (True: check it exactly).

    Nine runs in ten fail them; this fits every run's lines at once with numpy, and rules a
    run out only by a margin (1e-7 of the largest price) thousands of times the rounding
    error between these fits and ``fit_points``, so no run that passes is ever skipped.
    """
    m = len(zz) - size + 1
    kinds = [p.kind == "H" for p in zz]
    if m <= 0 or any(a == b for a, b in zip(kinds, kinds[1:], strict=False)):
        return np.ones(max(m, 0), dtype=bool)  # not a zigzag: no shortcut
    idx = np.array([p.idx for p in zz], dtype=np.int64)
    price = np.array([p.price for p in zz], dtype=np.float64)
    x, first, last = idx.astype(np.float64), np.arange(m), np.arange(m) + size - 1
    at = []
    for o in (0, 1):  # the pivots of a run at even and at odd offsets: one kind each
        cols = first[:, None] + np.arange(o, size, 2)[None, :]
        xs, ys = x[cols], price[cols]
        xm, ym = xs.mean(axis=1), ys.mean(axis=1)
        dx = xs - xm[:, None]
        sxx = (dx * dx).sum(axis=1)
        slope = np.where(sxx > 0, (dx * (ys - ym[:, None])).sum(axis=1) / np.where(
            sxx > 0, sxx, 1.0), 0.0)
        icpt = ym - slope * xm
        at.append((icpt + slope * x[first], icpt + slope * x[last]))
    hi_even = np.array(kinds[:m])
    hi_first = np.where(hi_even, at[0][0], at[1][0])
    lo_first = np.where(hi_even, at[1][0], at[0][0])
    hi_last = np.where(hi_even, at[0][1], at[1][1])
    lo_last = np.where(hi_even, at[1][1], at[0][1])
    margin = 1e-7 * (float(np.abs(price).max()) + 1.0)
    thr = params.min_pattern_height_atr * bars.atr[idx[last]]
    with np.errstate(all="ignore"):
        surely_out = ((hi_first - lo_first < thr - margin)
                      | (hi_last - lo_last < -margin))
    return ~surely_out


def triangles(bars: Derived, zz: list[Pivot], params: PatternParams) -> list[Detection]:
    """Return triangles: a flat or falling upper line over highs and a rising or flat lower
    line under lows, converging, at least ``min_pattern_height_atr`` tall at the start.

    Ascending triangles break up and descending ones down (a break the other way invalidates
    them); a symmetric triangle takes the direction of whichever side breaks first.
    """
    out: list[Detection] = []
    n = len(bars)
    # Neighbouring runs share the pivots of one side: fit each set of pivots once.
    fits: dict[tuple[Pivot, ...], Line] = {}

    def fit(points: list[Pivot]) -> Line:
        key = tuple(points)
        line = fits.get(key)
        if line is None:
            line = fits[key] = fit_points([p.idx for p in points], [p.price for p in points])
        return line

    for size in sorted({params.triangle_pivots, 6}, reverse=True):
        maybe = _maybe_tall(bars, zz, size, params)
        for i in range(0, len(zz) - size + 1):
            if not maybe[i]:
                continue
            run = zz[i:i + size]
            first, last = run[0], run[-1]
            span = last.idx - first.idx
            if span <= 0 or span > params.max_pattern_bars:
                continue
            highs = [p for p in run if p.kind == "H"]
            lows = [p for p in run if p.kind == "L"]
            atr = float(bars.atr[last.idx])
            hi = fit(highs)
            lo = fit(lows)
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
