"""Swing pivots: fractal highs/lows filtered into an alternating zigzag by ATR.

Hand-written with numpy rather than ``scipy.signal.find_peaks``: a fractal pivot is one
``sliding_window_view(...).max()`` and the ATR swing filter has to be ours anyway, so scipy
would add a dependency without removing code.
"""
from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from services.pattern_analysis.domain.model import Bars, Pivot


def fractal_pivots(high: np.ndarray, low: np.ndarray, window: int) -> list[Pivot]:
    """Return every bar that is the extreme of ``window`` bars either side, in bar order.

    A pivot needs ``window`` bars after it, so the last ``window`` bars never hold one: the
    pivot at ``i`` is known only once bar ``i + window`` has closed (no look-ahead).  A tie
    keeps the first bar.
    """
    n = len(high)
    w = 2 * window + 1
    if n < w:
        return []
    hmax = sliding_window_view(high, w).max(axis=1)
    lmin = sliding_window_view(low, w).min(axis=1)
    centre = np.arange(window, n - window)
    is_h = high[centre] >= hmax
    is_l = low[centre] <= lmin
    # Strict on the left so a flat top of equal highs yields one pivot, its first bar.
    if window > 0:
        left_h = sliding_window_view(high[:-1], window).max(axis=1)[: len(centre)]
        left_l = sliding_window_view(low[:-1], window).min(axis=1)[: len(centre)]
        is_h &= high[centre] > left_h
        is_l &= low[centre] < left_l
    out = [Pivot(int(i), "H", float(high[i])) for i in centre[is_h]]
    out += [Pivot(int(i), "L", float(low[i])) for i in centre[is_l]]
    out.sort(key=lambda p: (p.idx, p.kind))
    return out


def zigzag(bars: Bars, window: int, min_swing_atr: float) -> list[Pivot]:
    """Return alternating swing highs and lows, each at least ``min_swing_atr`` ATR from the last.

    Consecutive pivots of one kind keep the more extreme; a swing smaller than the threshold is
    noise and is skipped.
    """
    out: list[Pivot] = []
    atr = bars.atr
    for p in fractal_pivots(bars.high, bars.low, window):
        if not out:
            out.append(p)
            continue
        last = out[-1]
        if p.kind == last.kind:
            if (p.price > last.price) if p.kind == "H" else (p.price < last.price):
                out[-1] = p
            continue
        if abs(p.price - last.price) >= min_swing_atr * atr[p.idx]:
            out.append(p)
    return out
