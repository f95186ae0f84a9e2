"""Bull flags and pennants (bear ones are found on mirrored bars).

A pole is a zigzag upswing of at least ``pole_min_atr`` ATR within ``pole_max_bars`` bars; the
consolidation after it is fitted with least-squares lines over its highs and its lows, bar by
bar, until a close breaks the upper line (confirmation; when that breakout later fails the
search goes on, as a trader watching bar by bar would), it retraces more than
``flag_max_retrace`` of the pole (no pattern), or it outlasts ``flag_max_bars``.
"""
from __future__ import annotations

import numpy as np

from services.pattern_analysis.domain.lifecycle import resolve
from services.pattern_analysis.domain.lines import Line, WindowFitter
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

_WEIGHTS = {"pole": 1.0, "retrace": 1.0, "shape": 1.0, "volume_dryup": 0.5,
            "confirmation": 1.5, "volume": 1.0}


def _shape(up: float, lo: float, par_tol: float, flat: float) -> str | None:
    """Name the consolidation from its line slopes (ATR over its length), or None."""
    if up <= flat and lo <= flat and abs(up - lo) <= par_tol and (up < -flat or lo < -flat
                                                                  or abs(up) <= flat):
        return "flag"
    if up < -flat and lo > flat:
        return "pennant"
    return None


def bull_flags(bars: Bars, zz: list[Pivot], params: PatternParams) -> list[Detection]:
    """Return bull flags and bull pennants (pattern names ``bull_flag``/``bull_pennant``)."""
    n = len(bars)
    out: list[Detection] = []
    fit_hi = fit_lo = None
    for top in zz:
        if top.kind != "H" or top.idx == 0:
            continue
        # The pole starts at the lowest low of the pole_max_bars before the top, which need
        # not be a zigzag pivot (a flat base has no clean swing low).
        a = max(0, top.idx - params.pole_max_bars)
        base_idx = a + int(np.argmin(bars.low[a:top.idx]))
        base = Pivot(base_idx, "L", float(bars.low[base_idx]))
        atr = float(bars.atr[top.idx])
        pole = top.price - base.price
        if pole < params.pole_min_atr * atr:
            continue
        if fit_hi is None:
            fit_hi, fit_lo = WindowFitter(bars.high), WindowFitter(bars.low)
        p = top.idx
        low_so_far = float("inf")
        for e in range(p + 1, min(p + params.flag_max_bars, n - 1) + 1):
            low_so_far = min(low_so_far, float(bars.low[e]))
            if top.price - low_so_far > params.flag_max_retrace * pole:
                break
            if e - p < params.flag_min_bars:
                continue
            nxt = e + 1
            hi = _envelope(fit_hi, bars.high, p + 1, e + 1, upper=True)
            breaking = nxt < n and bars.close[nxt] > hi.at(nxt) + params.break_buffer_atr * atr
            if not breaking and nxt < n:
                if e - p < params.flag_max_bars:
                    continue
                break  # outlasted flag_max_bars without a breakout
            lo = _envelope(fit_lo, bars.low, p + 1, e + 1, upper=False)
            w = e - p
            # Slopes as the move over the consolidation, in fractions of the pole.
            shape = _shape(hi.slope * w / pole, lo.slope * w / pole, params.flat_ratio,
                           params.flat_ratio / 2)
            if shape is None:
                break
            det = _detection(bars, base, top, e, hi, lo, low_so_far, pole, atr, shape, params)
            out.append(det)
            if det.status != Status.INVALIDATED:
                break
    return out


def _envelope(fitter: WindowFitter, y: np.ndarray, a: int, b: int, upper: bool) -> Line:
    """Return the least-squares line of ``y[a:b]`` shifted to touch its extreme point, so the
    upper line has every high under it (a close above it is a real breakout)."""
    slope, intercept = fitter.fit(a, b)
    resid = y[a:b] - (intercept + slope * np.arange(a, b))
    shift = float(resid.max() if upper else resid.min())
    return Line(slope, intercept + shift, abs(shift), 1.0)


def _detection(bars: Bars, base: Pivot, top: Pivot, e: int, hi: Line, lo: Line, flag_low: float,
               pole: float, atr: float, shape: str, params: PatternParams) -> Detection:
    res = resolve(bars, e + 1, hi, pole, flag_low, params.break_buffer_atr * atr,
                  params.expiry_bars)
    confirmed = res.confirm_idx >= 0
    retrace = (top.price - flag_low) / pole
    vol_pole = float(bars.volume[base.idx:top.idx + 1].mean())
    vol_flag = float(bars.volume[top.idx + 1:e + 1].mean())
    dryup = vol_flag / vol_pole if vol_pole > 0 else 1.0
    w = e - top.idx
    parts = {"pole": clip01(pole / atr / (2 * params.pole_min_atr)),
             "retrace": clip01(1 - retrace / params.flag_max_retrace),
             "shape": clip01(1 - abs((hi.slope - lo.slope) * w / pole) / params.flat_ratio)
             if shape == "flag" else 1.0,
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
                      "flag_bars": float(w), "volume_ratio": dryup,
                      "breakout_rel_volume": res.rel_volume},
        breakout_level=res.breakout_price, target=res.target, invalidation=flag_low,
        upper=float(hi.at(ref)), lower=float(lo.at(ref)),
        confirmed_ts=int(bars.ts[res.confirm_idx]) if confirmed else None,
        resolved_ts=int(bars.ts[res.resolved_idx]) if res.resolved_idx >= 0 else None)
