"""The scan's input (a symbols x bars panel) and its per-symbol metrics, computed with numpy.

All symbols share one intraday time axis and one daily axis, so each metric is a handful of
numpy operations over the whole universe rather than a Python loop per symbol.  RSI and ATR
are the exception: their Wilder smoothing is a recursion along time, and TA-Lib (one C call
per row, a few microseconds each) is used so the values agree with the technical analysis
service exactly instead of re-implementing TA-Lib's seeding rules.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property

import numpy as np
import talib

from shared.ta import custom
from shared.ta.sessions import NS_PER_MIN, SessionRules, layout


@dataclass(frozen=True)
class ScanParams:
    """Look-back lengths of the metrics (from the ``scanner`` settings)."""

    avg_volume_days: int = 20
    rvol_sessions: int = 10
    rsi_period: int = 14
    atr_period: int = 14
    change_window_bars: int = 12
    new_high_days: int = 20


@dataclass
class Panel:
    """Intraday bars (S x T, NaN where missing) and completed daily bars (S x D) of a universe.

    ``daily_ts`` are the open times of the daily bars (a session's date at 00:00 New York,
    as Alpaca stamps them); only sessions before the current intraday session's day count as
    "previous" days.
    """

    symbols: np.ndarray
    sectors: np.ndarray
    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    daily_ts: np.ndarray
    daily_high: np.ndarray
    daily_low: np.ndarray
    daily_close: np.ndarray
    daily_volume: np.ndarray
    params: ScanParams = field(default_factory=ScanParams)
    rules: SessionRules = field(default_factory=SessionRules)

    def __len__(self) -> int:
        return int(self.symbols.size)

    # -- session bookkeeping -----------------------------------------------------------
    @cached_property
    def _layout(self):  # type: ignore[no-untyped-def]
        return layout(self.ts, self.rules)

    @cached_property
    def session_start(self) -> int:
        """Index of the first bar of the latest (current) session."""
        return int(self._layout.starts[-1])

    @cached_property
    def _prev_days(self) -> np.ndarray:
        """Indices of the daily bars of sessions before the current one.

        A daily bar opens at its session's 00:00 local, before the session's first intraday
        bar: the current session's own daily bar (there once the session has closed) starts
        at that day's midnight and is left out.
        """
        first = int(self.ts[self.session_start])
        # that bar's local midnight (sessions never span a daylight-saving change)
        day = first - int(self._layout.minute[self.session_start]) * NS_PER_MIN - first % NS_PER_MIN
        return np.flatnonzero(self.daily_ts < day)

    # -- metrics (each S values) -------------------------------------------------------
    @cached_property
    def price(self) -> np.ndarray:
        return self.close[:, -1]

    @cached_property
    def prev_close(self) -> np.ndarray:
        d = self._prev_days
        return self.daily_close[:, d[-1]] if d.size else np.full(len(self), np.nan)

    @cached_property
    def avg_volume(self) -> np.ndarray:
        d = self._prev_days[-self.params.avg_volume_days:]
        if d.size == 0:
            return np.full(len(self), np.nan)
        with np.errstate(invalid="ignore"):
            return np.nanmean(self.daily_volume[:, d], axis=1) if d.size else d

    @cached_property
    def avg_dollar_volume(self) -> np.ndarray:
        """Mean of close x volume over the same previous sessions as ``avg_volume``."""
        d = self._prev_days[-self.params.avg_volume_days:]
        if d.size == 0:
            return np.full(len(self), np.nan)
        with np.errstate(invalid="ignore"):
            return np.nanmean(self.daily_close[:, d] * self.daily_volume[:, d], axis=1)

    @cached_property
    def rvol(self) -> np.ndarray:
        """Session volume so far over its mean at the same minute in the previous N sessions
        (the ones stored when fewer: a suite still backfilling its history).

        The same definition as ``custom.relative_volume(cumulative=True)`` at the last bar, but
        only the last bar is needed here, so it sums N + 1 slices instead of building the
        whole (symbols x sessions x minutes) grid, which is mostly fresh memory to touch.
        """
        lay = self._layout
        minute, n = int(lay.minute[-1]), self.params.rvol_sessions
        ends = np.append(lay.starts[1:], lay.session.size)

        def so_far(d: int) -> np.ndarray | None:
            a, b = int(lay.starts[d]), int(ends[d])
            hit = np.flatnonzero(lay.minute[a:b] == minute)
            return np.nansum(self.volume[:, a:a + int(hit[0]) + 1], axis=1) if hit.size else None

        cur = lay.n_sessions - 1
        prev = [x for d in range(max(cur - n, 0), cur) if (x := so_far(d)) is not None]
        if not prev:  # fewer than N earlier sessions stored (a fresh suite): those there are
            return np.full(len(self), np.nan)
        base = np.mean(prev, axis=0)
        today = so_far(cur)
        assert today is not None
        return np.divide(today, base, out=np.full(len(self), np.nan), where=base > 0)

    @cached_property
    def gap_pct(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.open[:, self.session_start] / self.prev_close - 1.0) * 100.0

    @cached_property
    def change_pct(self) -> np.ndarray:
        k = min(self.params.change_window_bars, self.ts.size - 1)
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.close[:, -1] / self.close[:, -1 - k] - 1.0) * 100.0

    @cached_property
    def abs_gap_pct(self) -> np.ndarray:
        return np.abs(self.gap_pct)

    @cached_property
    def abs_change_pct(self) -> np.ndarray:
        return np.abs(self.change_pct)

    @cached_property
    def vwap(self) -> np.ndarray:
        a = self.session_start
        v = custom.vwap(self.ts[a:], self.high[:, a:], self.low[:, a:], self.close[:, a:],
                        np.nan_to_num(self.volume[:, a:]), rules=self.rules)["vwap"]
        return v[:, -1]

    @cached_property
    def vwap_dist_pct(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return (self.price / self.vwap - 1.0) * 100.0

    def _per_row(self, fn, *arrays: np.ndarray) -> np.ndarray:  # type: ignore[no-untyped-def]
        """Return ``fn(row...)[-1]`` per symbol, skipping the missing bars of the first array."""
        out = np.full(len(self), np.nan)
        gaps = np.isnan(arrays[0]).any(axis=1)
        for i in range(len(self)):
            if gaps[i]:
                ok = ~np.isnan(arrays[0][i])
                if ok.sum() > 1:
                    out[i] = fn(*(np.ascontiguousarray(a[i][ok]) for a in arrays))[-1]
            else:
                out[i] = fn(*(a[i] for a in arrays))[-1]
        return out

    @cached_property
    def rsi(self) -> np.ndarray:
        p = self.params.rsi_period
        return self._per_row(lambda c: talib.RSI(c, timeperiod=p) if c.size > p
                             else np.array([np.nan]), self.close)

    @cached_property
    def atr_pct(self) -> np.ndarray:
        p = self.params.atr_period
        d = self._prev_days
        if d.size <= p:
            return np.full(len(self), np.nan)
        h, lo, c = (np.ascontiguousarray(a[:, d]) for a in
                    (self.daily_high, self.daily_low, self.daily_close))
        # Close goes first: _per_row drops the days where it is missing.
        atr = self._per_row(lambda c_, h_, l_: talib.ATR(h_, l_, c_, timeperiod=p)
                            if c_.size > p else np.array([np.nan]), c, h, lo)
        return atr / self.prev_close * 100.0

    @cached_property
    def prior_high(self) -> np.ndarray:
        d = self._prev_days[-self.params.new_high_days:]
        with np.errstate(invalid="ignore"):
            return np.nanmax(self.daily_high[:, d], axis=1) if d.size else np.full(len(self), np.nan)

    @cached_property
    def prior_low(self) -> np.ndarray:
        d = self._prev_days[-self.params.new_high_days:]
        with np.errstate(invalid="ignore"):
            return np.nanmin(self.daily_low[:, d], axis=1) if d.size else np.full(len(self), np.nan)

    @cached_property
    def day_high(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.nanmax(self.high[:, self.session_start:], axis=1)

    @cached_property
    def day_low(self) -> np.ndarray:
        with np.errstate(invalid="ignore"):
            return np.nanmin(self.low[:, self.session_start:], axis=1)
