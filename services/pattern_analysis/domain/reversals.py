"""Double bottoms and inverse head-and-shoulders (bullish orientation).

Double tops and head-and-shoulders are the same shapes upside down: ``analyze`` runs these
detectors on mirrored bars and maps the detections back.
"""
from __future__ import annotations

import numpy as np

from services.pattern_analysis.domain.lifecycle import Resolution, resolve
from services.pattern_analysis.domain.lines import Line, fit_points
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

_WEIGHTS = {"symmetry": 1.0, "height": 1.0, "confirmation": 1.5, "volume": 1.0, "prior_trend": 0.5}


def _prior_high(bars: Derived, idx: int, span: int) -> float:
    """Return the highest high of the ``span`` bars before ``idx``: a bottom pattern needs the
    decline into it to have started above its neckline."""
    seg = bars.high[max(0, idx - span):idx]
    return float(seg.max()) if len(seg) else float("-inf")


def _confirmation_parts(res: Resolution, params: PatternParams) -> dict[str, float]:
    confirmed = res.confirm_idx >= 0
    return {
        "confirmation": 1.0 if res.status == Status.COMPLETED else 0.9 if confirmed else
        0.4 if res.status == Status.FORMING else 0.0,
        "volume": clip01(res.rel_volume / params.breakout_rel_volume) if confirmed else 0.0,
    }


def _detection(bars: Derived, pattern: str, pivots: list[tuple[str, Pivot]], res: Resolution,
               parts: dict[str, float], extra: dict[str, float], neck_last: float,
               invalidation: float, weights: dict[str, float]) -> Detection:
    last = pivots[-1][1].idx
    end = res.resolved_idx if res.resolved_idx >= 0 else res.confirm_idx if res.confirm_idx >= 0 else last
    return Detection(
        pattern=pattern, direction=Direction.BULLISH, status=res.status,
        start_ts=int(bars.ts[pivots[0][1].idx]), end_ts=int(bars.ts[end]),
        pivots=tuple((name, int(bars.ts[p.idx]), p.price) for name, p in pivots),
        confidence=weighted_score(parts, weights),
        measurements={**parts, **extra, "breakout_rel_volume": res.rel_volume},
        neckline=neck_last, breakout_level=res.breakout_price, target=res.target,
        invalidation=invalidation,
        confirmed_ts=int(bars.ts[res.confirm_idx]) if res.confirm_idx >= 0 else None,
        resolved_ts=int(bars.ts[res.resolved_idx]) if res.resolved_idx >= 0 else None)


def double_bottoms(bars: Derived, zz: list[Pivot], params: PatternParams) -> list[Detection]:
    """Return double bottoms: two lows within ``peak_tolerance_atr`` with a peak between them
    at least ``min_pattern_height_atr`` above, after a decline from above that peak."""
    out = []
    buffer_unit = params.break_buffer_atr
    maybe = _maybe_double(bars, zz, params)
    pairs = ([(a, b) for a in range(len(zz)) for b in (a + 2, a + 4)] if maybe is None else
             [(a, a + 2 * (r + 1)) for a in np.flatnonzero(maybe[0] | maybe[1]).tolist()
              for r in (0, 1) if maybe[r][a]])
    stop = -1
    for a, b in pairs:
        first = zz[a]
        # The second bottom is the next low, or the one after if the low between stays higher.
        if a == stop or first.kind != "L" or b >= len(zz):
            continue
        second = zz[b]
        between = zz[a + 1:b]
        lows_between = [p for p in between if p.kind == "L"]
        if second.idx - first.idx > params.max_pattern_bars:
            stop = a
            continue
        atr = float(bars.atr[second.idx])
        peak = max((p for p in between if p.kind == "H"), key=lambda p: p.price)
        neck = peak.price
        bottom = min(first.price, second.price)
        height = neck - bottom
        tol = max(params.peak_tolerance_atr * atr, 0.1 * height)
        if any(p.price <= max(first.price, second.price) + tol for p in lows_between):
            continue
        diff = abs(first.price - second.price)
        if diff > tol or height < params.min_pattern_height_atr * atr:
            continue
        prior = _prior_high(bars, first.idx, second.idx - first.idx)
        if prior < neck:
            continue
        line = Line(0.0, neck, 0.0, 1.0)
        res = resolve(bars, second.idx + 1, line, height, bottom, buffer_unit * atr,
                      params.expiry_bars)
        parts = {"symmetry": clip01(1 - diff / tol),
                 "height": clip01(height / atr / (2 * params.min_pattern_height_atr)),
                 "prior_trend": clip01((prior - neck) / height),
                 **_confirmation_parts(res, params)}
        extra = {"height_atr": height / atr, "bottom_diff_atr": diff / atr,
                 "bars_between": float(second.idx - first.idx)}
        out.append(_detection(bars, "double_bottom",
                              [("first", first), ("neck", peak), ("second", second)],
                              res, parts, extra, neck, bottom, _WEIGHTS))
    return out


def _maybe_double(bars: Derived, zz: list[Pivot], params: PatternParams
                  ) -> list[np.ndarray] | None:
    """Return, for second bottoms two (row 0) and four (row 1) pivots after each first one,
    False where ``double_bottoms`` surely skips the pair (None: no shortcut, check them all).

    Most pairs fail its span, tolerance or height checks; these are the same float operations
    on every pair at once (numpy's elementwise arithmetic is Python's), so a pair is ruled
    out here exactly when the loop would rule it out.
    """
    m = len(zz)
    kinds = [p.kind for p in zz]
    if m < 3 or any(x == y for x, y in zip(kinds, kinds[1:], strict=False)):
        return None  # not an alternating zigzag: the loop checks every pair
    idx = np.array([p.idx for p in zz], dtype=np.int64)
    price = np.array([p.price for p in zz], dtype=np.float64)
    atr = bars.atr[idx]
    rows = []
    for step in (2, 4):
        k = max(m - step, 0)
        first, second, a2 = price[:k], price[step:], atr[step:]
        span_ok = idx[step:] - idx[:k] <= params.max_pattern_bars
        neck = price[1:k + 1] if step == 2 else np.maximum(price[1:k + 1], price[3:k + 3])
        height = neck - np.minimum(first, second)
        tol = np.maximum(params.peak_tolerance_atr * a2, 0.1 * height)
        ok = span_ok & ~(np.abs(first - second) > tol) & ~(height < params.min_pattern_height_atr * a2)
        if step == 4:  # the low between must stay above both bottoms by the tolerance
            ok &= ~(price[2:k + 2] <= np.maximum(first, second) + tol)
        rows.append(np.concatenate([ok, np.zeros(m - k, dtype=bool)]))
    return rows


def _maybe_ihs(bars: Derived, zz: list[Pivot], params: PatternParams) -> list[int]:
    """Return the first pivots of the runs of five that ``inverse_head_and_shoulders`` may keep.

    Its kind, span and head-depth checks are computed here for every run at once with the
    same float operations (exact); its height check against the neckline through the two
    highs is applied only beyond a margin (1e-7 of the largest price) far above the rounding
    difference between this fit and ``fit_points``, so no run it would keep is skipped.
    """
    m = len(zz) - 4
    if m <= 0:
        return []
    idx = np.array([p.idx for p in zz], dtype=np.int64)
    price = np.array([p.price for p in zz], dtype=np.float64)
    is_low = np.array([p.kind == "L" for p in zz])
    atr = bars.atr[idx[4:]]
    ls, n1, head, n2, rs = (price[k:k + m] for k in range(5))
    x1, xh, x2 = (idx[k:k + m].astype(np.float64) for k in (1, 2, 3))
    with np.errstate(all="ignore"):
        neck_at_head = n1 + (n2 - n1) * (xh - x1) / (x2 - x1)
        margin = 1e-7 * (float(np.abs(price).max()) + 1.0)
        ok = (is_low[:m] & (idx[4:] - idx[:m] <= params.max_pattern_bars)
              & ~(head > np.minimum(ls, rs) - params.head_min_atr * atr)
              & ~(neck_at_head - head < params.min_pattern_height_atr * atr - margin))
    return np.flatnonzero(ok).tolist()


def inverse_head_and_shoulders(bars: Derived, zz: list[Pivot], params: PatternParams
                               ) -> list[Detection]:
    """Return inverse head-and-shoulders: five alternating pivots L H L H L whose middle low
    (head) is at least ``head_min_atr`` under two similar shoulders, with a neckline through
    the two highs; confirmed by a close above the neckline."""
    out = []
    weights = {**_WEIGHTS, "time_symmetry": 0.5}
    for i in _maybe_ihs(bars, zz, params):
        ls, n1, head, n2, rs = zz[i:i + 5]
        if ls.kind != "L" or rs.idx - ls.idx > params.max_pattern_bars:
            continue
        atr = float(bars.atr[rs.idx])
        neck = fit_points([n1.idx, n2.idx], [n1.price, n2.price])
        height = float(neck.at(head.idx)) - head.price
        if height < params.min_pattern_height_atr * atr:
            continue
        if head.price > min(ls.price, rs.price) - params.head_min_atr * atr:
            continue
        tol = max(params.peak_tolerance_atr * atr, 0.25 * height)
        diff = abs(ls.price - rs.price)
        if diff > tol or abs(n2.price - n1.price) > 0.5 * height:
            continue
        depth_l = float(neck.at(ls.idx)) - ls.price
        depth_r = float(neck.at(rs.idx)) - rs.price
        if min(depth_l, depth_r) < 0.3 * height:
            continue
        prior = _prior_high(bars, ls.idx, rs.idx - ls.idx)
        if prior < float(neck.at(ls.idx)):
            continue
        d1, d2 = head.idx - ls.idx, rs.idx - head.idx
        time_sym = min(d1, d2) / max(d1, d2)
        if time_sym < 0.33:
            continue
        res = resolve(bars, rs.idx + 1, neck, height, rs.price, params.break_buffer_atr * atr,
                      params.expiry_bars)
        parts = {"symmetry": clip01(1 - diff / tol),
                 "height": clip01(height / atr / (2 * params.min_pattern_height_atr)),
                 "prior_trend": clip01((prior - float(neck.at(ls.idx))) / height),
                 "time_symmetry": time_sym, **_confirmation_parts(res, params)}
        extra = {"height_atr": height / atr, "shoulder_diff_atr": diff / atr,
                 "neck_slope_atr_per_bar": neck.slope / atr}
        out.append(_detection(
            bars, "inverse_head_and_shoulders",
            [("left_shoulder", ls), ("neck1", n1), ("head", head), ("neck2", n2),
             ("right_shoulder", rs)],
            res, parts, extra, float(neck.at(len(bars) - 1 if res.confirm_idx < 0 else res.confirm_idx)),
            rs.price, weights))
    return out
