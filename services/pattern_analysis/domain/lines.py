"""Least-squares lines: through pivots (trendlines, channels) and over bar ranges (flags).

``np.polyfit`` costs tens of microseconds a call; flags try many windows per pole, so window
fits use prefix sums and cost O(1) each.
"""
from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

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


@dataclass(frozen=True)
class Line:
    """``price = intercept + slope * bar_index``, with the largest fit residual."""

    slope: float
    intercept: float
    max_resid: float
    r2: float

    def at(self, idx: float | np.ndarray) -> float | np.ndarray:
        return self.intercept + self.slope * idx


def fit_points(x: Sequence[float] | np.ndarray, y: Sequence[float] | np.ndarray) -> Line:
    """Return the least-squares line through points (two or more, distinct x).

    Raises:
        ValueError: with fewer than two points.
    """
    if len(x) < 2:
        raise ValueError("a line needs at least two points")
    # Plain floats: detectors fit thousands of 2-6 point lines, where numpy's per-call
    # overhead costs ten times the arithmetic.  (List comprehensions under sum(): the same
    # additions in the same order as generator expressions, at half the cost.)
    xs = [float(v) for v in x]
    ys = [float(v) for v in y]
    n = len(xs)
    xm = sum(xs) / n
    ym = sum(ys) / n
    dx = [a - xm for a in xs]
    dy = [b - ym for b in ys]
    sxx = sum([d ** 2 for d in dx])
    slope = sum([d * e for d, e in zip(dx, dy, strict=True)]) / sxx if sxx > 0 else 0.0
    intercept = ym - slope * xm
    resid = [b - (intercept + slope * a) for a, b in zip(xs, ys, strict=True)]
    syy = sum([e ** 2 for e in dy])
    r2 = 1.0 - sum([r * r for r in resid]) / syy if syy > 0 else 1.0
    return Line(slope, intercept, max(map(abs, resid)), r2)


class WindowFitter:
    """O(1) least-squares lines over ``y[a:b]`` against bar index, from prefix sums."""

    def __init__(self, y: np.ndarray) -> None:
        x = np.arange(len(y), dtype=float)
        self._y = np.concatenate(([0.0], np.cumsum(y)))
        self._xy = np.concatenate(([0.0], np.cumsum(x * y)))

    def fit(self, a: int, b: int) -> tuple[float, float]:
        """Return (slope, intercept) of the fit over bars ``a..b-1`` (needs ``b - a >= 2``)."""
        n = b - a
        sx = (a + b - 1) * n / 2.0
        sxx = ((b - 1) * b * (2 * b - 1) - (a - 1) * a * (2 * a - 1)) / 6.0
        sy = self._y[b] - self._y[a]
        sxy = self._xy[b] - self._xy[a]
        den = n * sxx - sx * sx
        slope = (n * sxy - sx * sy) / den if den else 0.0
        return slope, (sy - slope * sx) / n


def first_cross(close: np.ndarray, start: int, line: Line, above: bool, buffer: float) -> int:
    """Return the first bar ``>= start`` that closes beyond ``line`` by ``buffer``, or -1."""
    if start >= len(close):
        return -1
    idx = np.arange(start, len(close))
    lv = line.at(idx)
    hit = close[start:] > lv + buffer if above else close[start:] < lv - buffer
    k = int(np.argmax(hit))
    return start + k if hit[k] else -1


def _best_line(bars: Derived, piv: list[Pivot], params: PatternParams, above: bool
               ) -> tuple[Line, list[Pivot]] | None:
    """Return the longest recent run of pivots that a line fits within tolerance.

    A support line may not be closed through between its first and last pivot (else it
    was already broken), and likewise for resistance.
    """
    tol_unit = bars.atr_median
    for n in range(min(params.trendline_max_pivots, len(piv)), params.trendline_min_pivots - 1, -1):
        pts = piv[-n:]
        x = np.array([p.idx for p in pts], dtype=float)
        line = fit_points(x, np.array([p.price for p in pts]))
        if line.max_resid > params.line_tolerance_atr * tol_unit:
            continue
        a, b = pts[0].idx, pts[-1].idx
        seg = bars.close[a:b + 1] - line.at(np.arange(a, b + 1))
        tol = params.line_tolerance_atr * tol_unit
        if (above and (seg > tol).any()) or (not above and (seg < -tol).any()):
            continue
        return line, pts
    return None


def trendlines(bars: Derived, pivots: list[Pivot], params: PatternParams) -> list[Detection]:
    """Return the current support and resistance trendlines and, when parallel, a channel."""
    n = len(bars)
    if n == 0:
        return []
    unit = bars.atr_median
    buffer = params.break_buffer_atr * unit
    found: dict[str, tuple[Line, list[Pivot]]] = {}
    for kind, name, above in (("L", "support_trendline", False), ("H", "resistance_trendline", True)):
        best = _best_line(bars, [p for p in pivots if p.kind == kind], params, above)
        if best is not None:
            found[name] = best
    out = []
    for name, (line, pts) in found.items():
        above = name == "resistance_trendline"
        brk = first_cross(bars.close, pts[-1].idx + 1, line, above, buffer)
        slope_atr = line.slope * (pts[-1].idx - pts[0].idx) / unit
        parts = {"touches": clip01((len(pts) - 2) / 3), "fit": clip01(line.r2),
                 "tightness": clip01(1 - line.max_resid / (params.line_tolerance_atr * unit))}
        end = n - 1 if brk < 0 else brk
        direction = (Direction.BULLISH if slope_atr > params.flat_slope_atr else
                     Direction.BEARISH if slope_atr < -params.flat_slope_atr else Direction.NEUTRAL)
        out.append(Detection(
            pattern=name, direction=direction,
            status=Status.BROKEN if brk >= 0 else Status.ACTIVE,
            start_ts=int(bars.ts[pts[0].idx]), end_ts=int(bars.ts[end]),
            pivots=tuple((f"touch{i + 1}", int(bars.ts[p.idx]), p.price) for i, p in enumerate(pts)),
            confidence=weighted_score(parts, {"touches": 1, "fit": 1, "tightness": 1}),
            measurements={**parts, "touch_count": float(len(pts)),
                          "slope_atr_per_bar": line.slope / unit,
                          "break_rel_volume": float(bars.rel_vol[brk]) if brk >= 0 else 0.0},
            breakout_level=float(line.at(end)),
            confirmed_ts=int(bars.ts[brk]) if brk >= 0 else None,
            resolved_ts=int(bars.ts[brk]) if brk >= 0 else None))
    if len(found) == 2:
        out.extend(_channel(bars, found, params, unit))
    return out


def _channel(bars: Derived, found: dict[str, tuple[Line, list[Pivot]]], params: PatternParams,
             unit: float) -> list[Detection]:
    lo_line, lo_pts = found["support_trendline"]
    hi_line, hi_pts = found["resistance_trendline"]
    start = min(lo_pts[0].idx, hi_pts[0].idx)
    last = max(lo_pts[-1].idx, hi_pts[-1].idx)
    span = max(last - start, 1)
    divergence = abs(hi_line.slope - lo_line.slope) * span / unit
    width = float(hi_line.at(last) - lo_line.at(last))
    if divergence > params.line_tolerance_atr * 2 or width < params.min_pattern_height_atr * unit:
        return []
    n = len(bars)
    buffer = params.break_buffer_atr * unit
    up = first_cross(bars.close, last + 1, hi_line, True, buffer)
    down = first_cross(bars.close, last + 1, lo_line, False, buffer)
    brk = min(i for i in (up, down, n) if i >= 0)
    end = min(brk, n - 1)
    slope_atr = (hi_line.slope + lo_line.slope) / 2 * span / unit
    direction = (Direction.BULLISH if slope_atr > params.flat_slope_atr else
                 Direction.BEARISH if slope_atr < -params.flat_slope_atr else Direction.NEUTRAL)
    name = {Direction.BULLISH: "channel_up", Direction.BEARISH: "channel_down",
            Direction.NEUTRAL: "channel_flat"}[direction]
    parts = {"parallel": clip01(1 - divergence / (params.line_tolerance_atr * 2)),
             "touches": clip01((len(lo_pts) + len(hi_pts) - 4) / 4),
             "fit": clip01(min(lo_line.r2, hi_line.r2)) if direction != Direction.NEUTRAL else 1.0}
    pts = sorted(lo_pts + hi_pts, key=lambda p: p.idx)
    return [Detection(
        pattern=name, direction=direction,
        status=Status.BROKEN if brk < n else Status.ACTIVE,
        start_ts=int(bars.ts[start]), end_ts=int(bars.ts[end]),
        pivots=tuple((f"{'high' if p.kind == 'H' else 'low'}{i + 1}", int(bars.ts[p.idx]), p.price)
                     for i, p in enumerate(pts)),
        confidence=weighted_score(parts, {"parallel": 1, "touches": 1, "fit": 1}),
        measurements={**parts, "width_atr": width / unit, "slope_atr_per_bar": slope_atr / span},
        upper=float(hi_line.at(end)), lower=float(lo_line.at(end)),
        confirmed_ts=int(bars.ts[brk]) if brk < n else None,
        resolved_ts=int(bars.ts[brk]) if brk < n else None)]
