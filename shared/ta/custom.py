"""Day-trader indicators TA-Lib lacks, vectorised with numpy over one shared time axis.

TA-Lib has no notion of trading sessions, so session-anchored VWAP (with standard-deviation
bands), relative volume against the same time of day, the opening range and the pre-market
range are written here.  Every function takes the bar open times (int64 ns, UTC) and price or
volume arrays that are either 1-D (bars) or 2-D (symbols x bars); the work is numpy over the
whole panel with at most one Python step per session.  Values that are not yet knowable at a
bar (an opening range still forming, a session without pre-market data) are NaN.
"""
from __future__ import annotations

import numpy as np

from shared.ta.sessions import (
    NY,
    SessionLayout,
    SessionRules,
    layout,
    segmented_cumsum,
)


def _f64(a: np.ndarray) -> np.ndarray:
    return np.asarray(a, dtype="float64")


def _lay(ts_ns: np.ndarray | SessionLayout, rules: SessionRules) -> SessionLayout:
    return ts_ns if isinstance(ts_ns, SessionLayout) else layout(ts_ns, rules)


def vwap(ts_ns: np.ndarray | SessionLayout, high: np.ndarray, low: np.ndarray,
         close: np.ndarray, volume: np.ndarray, *, nbdev1: float = 1.0, nbdev2: float = 2.0,
         include_premarket: bool = False, rules: SessionRules = NY) -> dict[str, np.ndarray]:
    """Return the session-anchored VWAP of typical price and its volume-weighted sd bands.

    Keys: ``vwap``, ``upper1``/``lower1`` (``nbdev1`` deviations), ``upper2``/``lower2``.  The
    average restarts at each session; bars outside the counted hours are NaN.
    """
    lay = _lay(ts_ns, rules)
    counted = lay.regular | lay.premarket if include_premarket else lay.regular
    # In-place arithmetic: on a (symbols x bars) panel every temporary is megabytes of fresh
    # memory, which costs more to touch on these machines than the arithmetic itself.
    tp = np.add(_f64(high), _f64(low))
    tp += _f64(close)
    tp /= 3.0
    stack = np.empty(tp.shape[:-1] + (3, tp.shape[-1]))
    np.multiply(_f64(volume), counted, out=stack[..., 0, :])
    np.multiply(tp, stack[..., 0, :], out=stack[..., 1, :])
    np.multiply(tp, stack[..., 1, :], out=stack[..., 2, :])
    cs = segmented_cumsum(stack, lay.starts, out=stack)
    cum_v = cs[..., 0, :]
    valid = counted & (cum_v > 0)
    # Plain division then masking: ufuncs with where= are several times slower here.
    with np.errstate(invalid="ignore", divide="ignore"):
        mid = np.divide(cs[..., 1, :], cum_v)
        sd = np.divide(cs[..., 2, :], cum_v, out=tp)  # E[p^2], reusing tp's memory
    if not valid.all():
        invalid = ~valid
        np.putmask(mid, invalid, np.nan)
        np.putmask(sd, invalid, np.nan)
    sd -= mid * mid
    np.maximum(sd, 0.0, out=sd)
    np.sqrt(sd, out=sd)
    out = {"vwap": mid}
    for k, mult in (("1", nbdev1), ("2", nbdev2)):
        band = sd * mult
        out["upper" + k] = mid + band
        out["lower" + k] = np.subtract(mid, band, out=band)
    return out


def relative_volume(ts_ns: np.ndarray | SessionLayout, volume: np.ndarray, *,
                    sessions: int = 10, cumulative: bool = True,
                    rules: SessionRules = NY) -> np.ndarray:
    """Return volume over its average at the same local time in the previous ``sessions`` days.

    With ``cumulative`` the session's volume so far is compared with the average volume so far
    at that minute (the scanner's "RVOL"); otherwise the bar's own volume is.  NaN until a bar's
    minute has been seen in ``sessions`` earlier sessions, or when that average is zero.
    """
    lay = _lay(ts_ns, rules)
    v = _f64(volume)
    if cumulative:
        v = segmented_cumsum(v, lay.starts)
    slots, slot = np.unique(lay.minute, return_inverse=True)
    grid = np.full(v.shape[:-1] + (lay.n_sessions, slots.size), np.nan)
    grid[..., lay.session, slot] = v
    seen = ~np.isnan(grid)
    csum = np.cumsum(np.where(seen, grid, 0.0), axis=-2)
    ccnt = np.cumsum(seen, axis=-2)
    pad = [(0, 0)] * (grid.ndim - 2) + [(1, 0), (0, 0)]
    csum = np.pad(csum, pad)
    ccnt = np.pad(ccnt, pad)
    d = np.arange(lay.n_sessions)
    lo = np.maximum(d - sessions, 0)
    prev_sum = csum[..., d, :] - csum[..., lo, :]
    prev_cnt = ccnt[..., d, :] - ccnt[..., lo, :]
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(prev_cnt >= sessions, prev_sum / np.maximum(prev_cnt, 1), np.nan)
    base = mean[..., lay.session, slot]
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(base > 0, v / base, np.nan)


def opening_range(ts_ns: np.ndarray | SessionLayout, high: np.ndarray, low: np.ndarray, *,
                  minutes: int = 15, rules: SessionRules = NY) -> dict[str, np.ndarray]:
    """Return ``orh``/``orl``: the high and low of the first ``minutes`` of the regular session.

    They are NaN on the bars that form the range and before it (not knowable yet), and on
    sessions without any bar inside the range.
    """
    lay = _lay(ts_ns, rules)
    end = rules.open_minute + minutes
    inside = lay.regular & (lay.minute < end)
    after = (lay.minute >= end) & (lay.minute >= rules.open_minute)
    h = np.where(inside, _f64(high), -np.inf)
    lo = np.where(inside, _f64(low), np.inf)
    day_hi = np.maximum.reduceat(h, lay.starts, axis=-1)[..., lay.session]
    day_lo = np.minimum.reduceat(lo, lay.starts, axis=-1)[..., lay.session]
    ok = after & np.isfinite(day_hi)
    return {"orh": np.where(ok, day_hi, np.nan), "orl": np.where(ok, day_lo, np.nan)}


def premarket_range(ts_ns: np.ndarray | SessionLayout, high: np.ndarray, low: np.ndarray, *,
                    rules: SessionRules = NY) -> dict[str, np.ndarray]:
    """Return ``pmh``/``pml``: the pre-market high and low so far in each session.

    During the pre-market they are running extremes; from the open on they hold the final
    pre-market values.  NaN where the session has had no pre-market bar (no data).
    """
    lay = _lay(ts_ns, rules)
    pre = lay.premarket & (lay.minute < rules.open_minute)
    h = np.where(pre, _f64(high), -np.inf)
    lo = np.where(pre, _f64(low), np.inf)
    bounds = np.append(lay.starts, lay.session.size)
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        # Running extremes must restart each session; numpy has no segmented accumulate.
        np.maximum.accumulate(h[..., a:b], axis=-1, out=h[..., a:b])
        np.minimum.accumulate(lo[..., a:b], axis=-1, out=lo[..., a:b])
    return {"pmh": np.where(np.isfinite(h), h, np.nan), "pml": np.where(np.isfinite(lo), lo, np.nan)}
