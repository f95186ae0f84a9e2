"""Bull flags and pennants (bear ones are found on mirrored bars).

A pole is a zigzag upswing of at least ``pole_min_atr`` ATR within ``pole_max_bars`` bars.  The
consolidation after it is grown bar by bar, and every window that a close breaks out of
upwards is a candidate, read two ways:

* a flag: least-squares lines over the window's highs and lows (shifted to enclose it) that run
  parallel (or drift down together);
* a pennant: lines over the window's upper and lower *edges* (the highs above, and lows below,
  a first fit: the swing tops and bottoms) that converge symmetrically - a least-squares line
  over every high of a zigzag follows its midline, so it cannot see the convergence.

The search stops when a close rises above the pole top (the move has resumed), the
consolidation retraces more than ``flag_max_retrace`` of the pole, or it outlasts
``flag_max_bars``.  A run of consecutive breaking windows is one breakout episode, scored on its
first window; the last episode is reported (see ``_choose``), not the first one, so a pennant
whose first leg down briefly looked like a short flag is reported as the pennant.  Invalidated
episodes before it (a close under the consolidation low) are reported too.  The confidence
counts the lines' swing touches, the shape (parallelism or symmetry) and the breakout volume.
"""
from __future__ import annotations

import numpy as np

from services.pattern_analysis.domain.lifecycle import resolve
from services.pattern_analysis.domain.lines import Line, WindowFitter
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
from services.pattern_analysis.domain.pivots import rolling_max, rolling_min

_WEIGHTS = {"pole": 1.0, "retrace": 1.0, "shape": 1.0, "touches": 1.0, "volume_dryup": 0.5,
            "confirmation": 1.5, "volume": 1.0}
#: A bar touches a line when within this share of the consolidation's mean height of it.
_TOUCH_SHARE = 0.15
#: A swing point is the extreme of this many bars either side.
_SWING = 2
#: Refits of a pennant line on the points beyond the last fit.
_EDGE_ROUNDS = 2


def _is_flag(up: float, lo: float, par_tol: float, flat: float) -> bool:
    """Return True when line moves ``up``/``lo`` (fractions of the pole) run parallel, flat or
    down."""
    return (up <= flat and lo <= flat and abs(up - lo) <= par_tol
            and (up < -flat or lo < -flat or abs(up) <= flat))


def _pennant_symmetry(hi: Line, lo: Line, a: int, e: int, params: PatternParams) -> float | None:
    """Return how symmetric a converging pair of lines over bars ``a..e`` is (0..1), or None
    when they do not form a pennant: the upper line must fall and the lower one rise, each by
    more than a flat line may (``flat_ratio / 2`` of the starting height, as for flags),
    narrowing to at most ``triangle_max_end_width`` of it."""
    height = float(hi.at(a) - lo.at(a))
    if height <= 0:
        return None
    down = float(hi.at(a) - hi.at(e))
    up = float(lo.at(e) - lo.at(a))
    flat = params.flat_ratio / 2 * height
    if down < flat or up < flat:
        return None
    if height - down - up > params.triangle_max_end_width * height:
        return None
    return 1.0 - abs(down - up) / (down + up)


def bull_flags(bars: Derived, zz: list[Pivot], params: PatternParams) -> list[Detection]:
    """Return bull flags and bull pennants (pattern names ``bull_flag``/``bull_pennant``)."""
    n = len(bars)
    out: list[Detection] = []
    fit_hi = fit_lo = None
    busy_until = -1
    for top in zz:
        if top.kind != "H" or top.idx == 0:
            continue
        if top.idx <= busy_until:
            continue  # a swing high inside the last flag or pennant is not a new pole
        # The pole starts at the lowest low of the pole_max_bars before the top, which need
        # not be a zigzag pivot (a flat base has no clean swing low).
        a = max(0, top.idx - params.pole_max_bars)
        base_idx = a + int(np.argmin(bars.low[a:top.idx]))
        atr = float(bars.atr[top.idx])
        pole = top.price - float(bars.low[base_idx])
        if pole < params.pole_min_atr * atr:
            continue
        base = Pivot(base_idx, "L", float(bars.low[base_idx]))
        if fit_hi is None:
            fit_hi, fit_lo = WindowFitter(bars.high), WindowFitter(bars.low)
        buffer = params.break_buffer_atr * atr
        p = top.idx
        low_so_far = float("inf")
        firsts: list[Detection] = []
        broke = False
        for e in range(p + 1, min(p + params.flag_max_bars, n - 1) + 1):
            low_so_far = min(low_so_far, float(bars.low[e]))
            if top.price - low_so_far > params.flag_max_retrace * pole:
                break
            if bars.close[e] > top.price:
                break  # the move resumed: no later window is a consolidation under this pole
            if e - p < params.flag_min_bars:
                continue
            nxt = e + 1
            w = e - p
            end = nxt >= n
            # Converging edges make the window a pennant, whatever its flag lines say: least
            # squares over a symmetric zigzag is a flat line, which would pass for a flag.
            phi = _edge(fit_hi, bars.high, p, e + 1, upper=True)
            hi = _envelope(fit_hi, bars.high, p + 1, e + 1, upper=True)
            pen_break = end or bars.close[nxt] > phi.at(nxt) + buffer
            flag_break = end or bars.close[nxt] > hi.at(nxt) + buffer
            found = None
            if pen_break or flag_break:
                plo = _edge(fit_lo, bars.low, p + 1, e + 1, upper=False)
                sym = _pennant_symmetry(phi, plo, p + 1, e, params)
                if sym is not None:
                    found = ("pennant", phi, plo, sym) if pen_break else None
                elif flag_break:
                    lo = _envelope(fit_lo, bars.low, p + 1, e + 1, upper=False)
                    # Slopes as the move over the consolidation, in fractions of the pole.
                    up, dn = hi.slope * w / pole, lo.slope * w / pole
                    if _is_flag(up, dn, params.flat_ratio, params.flat_ratio / 2):
                        found = ("flag", hi, lo, clip01(1 - abs(up - dn) / params.flat_ratio))
            # Only an episode's first window is scored: the later ones hold its breakout bars.
            if found is not None and not broke:
                shape, up_line, lo_line, shape_score = found
                firsts.append(_detection(bars, base, top, e, up_line, lo_line, low_so_far, pole,
                                         atr, shape, shape_score, params))
            broke = found is not None
            if found is None and not end and e - p >= params.flag_max_bars:
                break  # outlasted flag_max_bars without a breakout
        chosen = _choose(firsts)
        out.extend(chosen)
        if chosen and chosen[-1].status != Status.INVALIDATED:
            last = chosen[-1]
            busy_until = (int(np.searchsorted(bars.ts, last.confirmed_ts))
                          if last.confirmed_ts is not None else n)
    return out


def _choose(firsts: list[Detection]) -> list[Detection]:
    """Return the breakout that ended the consolidation, after the invalidated ones before it.

    ``firsts`` holds the first window of each breakout episode (a run of consecutive windows
    that close out of their lines).  Only the last episode before the move resumed is the
    breakout: an earlier one was followed by more consolidation under the pole top, so it was
    a fake-out inside the pattern - e.g. the first leg of a pennant, which on its own looks
    like a short flag.
    """
    if not firsts:
        return []
    return [d for d in firsts[:-1] if d.status == Status.INVALIDATED] + [firsts[-1]]


def _envelope(fitter: WindowFitter, y: np.ndarray, a: int, b: int, upper: bool) -> Line:
    """Return the least-squares line of ``y[a:b]`` shifted to touch its extreme point, so the
    upper line has every high under it (a close above it is a real breakout)."""
    slope, intercept = fitter.fit(a, b)
    resid = y[a:b] - (intercept + slope * np.arange(a, b))
    shift = float(resid.max() if upper else resid.min())
    return Line(slope, intercept + shift, abs(shift), 1.0)


def _edge(fitter: WindowFitter, y: np.ndarray, a: int, b: int, upper: bool) -> Line:
    """Return a line along the upper (``upper``) or lower edge of ``y[a:b]``, shifted to
    enclose every point like ``_envelope``.

    Starting from the least-squares line, each round refits the points on the far side of the
    last line, so after two rounds it rests on the swing tops (or bottoms) alone.
    """
    slope, intercept = fitter.fit(a, b)
    x = np.arange(a, b, dtype=float)
    seg = y[a:b]
    for _ in range(_EDGE_ROUNDS):
        line = intercept + slope * x
        side = seg > line if upper else seg < line
        if int(side.sum()) < 3:
            break
        xs, ys = x[side], seg[side]
        # Hand-written two-moment fit: np.polyfit costs ~10x more on these few points.
        # sum / count is exactly what ndarray.mean computes, without its overhead
        xm, ym = float(xs.sum()) / len(xs), float(ys.sum()) / len(ys)
        sxx = float(((xs - xm) ** 2).sum())
        if sxx <= 0:
            break
        slope = float(((xs - xm) * (ys - ym)).sum()) / sxx
        intercept = ym - slope * xm
    resid = seg - (intercept + slope * x)
    shift = float(resid.max() if upper else resid.min())
    return Line(slope, intercept + shift, abs(shift), 1.0)


def _touches(y: np.ndarray, line: Line, a: int, b: int, tol: float, upper: bool) -> int:
    """Return how many swing highs (``upper``) or lows of ``y[a:b]`` - extremes of the
    ``_SWING`` bars either side, inside the window - come within ``tol`` of ``line``."""
    k = _SWING
    if b - a < 2 * k + 1:
        return 0
    seg = y[a:b]
    centre = np.arange(a + k, b - k)
    ext = (y[centre] >= rolling_max(seg, 2 * k + 1) if upper
           else y[centre] <= rolling_min(seg, 2 * k + 1))
    gap = line.at(centre) - y[centre] if upper else y[centre] - line.at(centre)
    return int((ext & (gap <= tol)).sum())


def _detection(bars: Derived, base: Pivot, top: Pivot, e: int, hi: Line, lo: Line, flag_low: float,
               pole: float, atr: float, shape: str, shape_score: float,
               params: PatternParams) -> Detection:
    res = resolve(bars, e + 1, hi, pole, flag_low, params.break_buffer_atr * atr,
                  params.expiry_bars)
    confirmed = res.confirm_idx >= 0
    retrace = (top.price - flag_low) / pole
    vol_pole = float(bars.volume[base.idx:top.idx + 1].mean())
    vol_flag = float(bars.volume[top.idx + 1:e + 1].mean())
    dryup = vol_flag / vol_pole if vol_pole > 0 else 1.0
    w = e - top.idx
    a = top.idx
    height = float(np.mean(hi.at(np.arange(a, e + 1)) - lo.at(np.arange(a, e + 1))))
    tol = max(_TOUCH_SHARE * height, 0.5 * atr)
    touches = min(_touches(bars.high, hi, a, e + 1, tol, True),
                  _touches(bars.low, lo, a, e + 1, tol, False))
    parts = {"pole": clip01(pole / atr / (2 * params.pole_min_atr)),
             "retrace": clip01(1 - retrace / params.flag_max_retrace),
             "shape": shape_score,
             # two touches a side define the lines; three make them a pattern
             "touches": clip01((touches - 1) / 2),
             "volume_dryup": clip01(1.5 - dryup),
             "confirmation": 1.0 if res.status == Status.COMPLETED else 0.9 if confirmed
             else 0.4 if res.status == Status.FORMING else 0.0,
             "volume": clip01(res.rel_volume / params.breakout_rel_volume) if confirmed else 0.0}
    end = (res.resolved_idx if res.resolved_idx >= 0 else res.confirm_idx if confirmed else e)
    ref = res.confirm_idx if confirmed else len(bars) - 1
    return Detection(
        pattern=f"bull_{shape}", direction=Direction.BULLISH, status=res.status,
        start_ts=int(bars.ts[base.idx]), end_ts=int(bars.ts[end]),
        pivots=(("pole_start", int(bars.ts[base.idx]), base.price),
                ("pole_top", int(bars.ts[top.idx]), top.price)),
        confidence=weighted_score(parts, _WEIGHTS),
        measurements={**parts, "pole_atr": pole / atr, "retrace_ratio": retrace,
                      "flag_bars": float(w), "volume_ratio": dryup, "touch_count": float(touches),
                      "breakout_rel_volume": res.rel_volume},
        breakout_level=res.breakout_price, target=res.target, invalidation=flag_low,
        upper=float(hi.at(ref)), lower=float(lo.at(ref)),
        confirmed_ts=int(bars.ts[res.confirm_idx]) if confirmed else None,
        resolved_ts=int(bars.ts[res.resolved_idx]) if res.resolved_idx >= 0 else None)
