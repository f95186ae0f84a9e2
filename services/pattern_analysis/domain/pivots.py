"""Swing pivots: fractal highs/lows filtered into an alternating zigzag by ATR.

Hand-written with numpy rather than ``scipy.signal.find_peaks``: a fractal pivot is one
rolling max and the ATR swing filter has to be ours anyway, so scipy
would add a dependency without removing code.
"""
from __future__ import annotations

import numpy as np

from services.pattern_analysis.domain.model import Derived, Pivot


def rolling_max(y: np.ndarray, w: int) -> np.ndarray:
    """Return the max of each run of ``w`` consecutive values (``len(y) - w + 1`` of them).

    ``w - 1`` elementwise maxima of shifted views: the same values as
    ``sliding_window_view(y, w).max(axis=1)`` (NaN included) at a fifth of its cost for the
    short windows used here.
    """
    m = len(y) - w + 1
    out = y[:m].copy()
    for k in range(1, w):
        np.maximum(out, y[k:k + m], out=out)
    return out


def rolling_min(y: np.ndarray, w: int) -> np.ndarray:
    """Return the min of each run of ``w`` consecutive values (see ``rolling_max``)."""
    m = len(y) - w + 1
    out = y[:m].copy()
    for k in range(1, w):
        np.minimum(out, y[k:k + m], out=out)
    return out


def _fractals(high: np.ndarray, low: np.ndarray, window: int
              ) -> tuple[list[int], list[bool], list[float]]:
    """Return ``fractal_pivots`` as plain lists: bar index, is-a-high, price."""
    n = len(high)
    w = 2 * window + 1
    if n < w:
        return [], [], []
    hmax = rolling_max(high, w)
    lmin = rolling_min(low, w)
    centre = np.arange(window, n - window)
    is_h = high[centre] >= hmax
    is_l = low[centre] <= lmin
    # Strict on the left so a flat top of equal highs yields one pivot, its first bar.
    if window > 0:
        left_h = rolling_max(high[:-1], window)[: len(centre)]
        left_l = rolling_min(low[:-1], window)[: len(centre)]
        is_h &= high[centre] > left_h
        is_l &= low[centre] < left_l
    hi, lo = centre[is_h], centre[is_l]
    idx = np.concatenate([hi, lo])
    kind = np.concatenate([np.zeros(len(hi), dtype=np.int8), np.ones(len(lo), dtype=np.int8)])
    order = np.lexsort((kind, idx))  # by bar, a high before a low on one bar
    idx, kind = idx[order], kind[order]
    price = np.where(kind == 0, high[idx], low[idx])
    return idx.tolist(), (kind == 0).tolist(), price.tolist()


def fractal_pivots(high: np.ndarray, low: np.ndarray, window: int) -> list[Pivot]:
    """Return every bar that is the extreme of ``window`` bars either side, in bar order.

    A pivot needs ``window`` bars after it, so the last ``window`` bars never hold one: the
    pivot at ``i`` is known only once bar ``i + window`` has closed (no look-ahead).  A tie
    keeps the first bar.
    """
    idx, is_h, price = _fractals(high, low, window)
    return [Pivot(i, "H" if h else "L", p) for i, h, p in zip(idx, is_h, price, strict=True)]


def zigzag(bars: Derived, window: int, min_swing_atr: float) -> list[Pivot]:
    """Return alternating swing highs and lows, each at least ``min_swing_atr`` ATR from the last.

    Consecutive pivots of one kind keep the more extreme; a swing smaller than the threshold is
    noise and is skipped.
    """
    # Python floats in the loop (the same IEEE arithmetic as numpy scalars, a tenth the cost);
    # Pivot objects only for the pivots kept.
    out: list[tuple[int, bool, float]] = []
    idx, is_h, price = _fractals(bars.high, bars.low, window)
    atr = bars.atr[idx].tolist() if idx else []
    for i, h, p, a in zip(idx, is_h, price, atr, strict=True):
        if not out:
            out.append((i, h, p))
            continue
        last = out[-1]
        if h == last[1]:
            if (p > last[2]) if h else (p < last[2]):
                out[-1] = (i, h, p)
            continue
        if abs(p - last[2]) >= min_swing_atr * a:
            out.append((i, h, p))
    return [Pivot(i, "H" if h else "L", p) for i, h, p in out]
