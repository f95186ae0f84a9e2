"""Value types of chart-pattern analysis: bars as arrays, pivots, levels, detections, parameters.

Prices here are float64 (analytics); the service converts them to ``Decimal`` cents at the
storage and API edge.  Times are int64 nanoseconds since the epoch, UTC (the bar *open* time).
"""
from __future__ import annotations

import hashlib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from enum import Enum
from functools import cached_property
from typing import Any

import numpy as np
import pandas as pd
import talib


class Direction(str, Enum):  # noqa: UP042 - str mixin keeps JSON/SQL plain strings
    BULLISH = "bullish"
    BEARISH = "bearish"
    NEUTRAL = "neutral"


class Status(str, Enum):  # noqa: UP042 - str mixin keeps JSON/SQL plain strings
    """Where a detection stands.

    Reversal/continuation patterns go ``forming`` -> ``confirmed`` (close beyond the breakout
    level) -> ``completed`` (measured-move target reached), or end ``invalidated`` (price beyond
    the invalidation level) or ``expired`` (no breakout within ``expiry_bars``).  Trendlines and
    channels are ``active`` until ``broken``; gaps are ``active`` until ``completed`` (filled).
    """

    FORMING = "forming"
    ACTIVE = "active"
    CONFIRMED = "confirmed"
    COMPLETED = "completed"
    BROKEN = "broken"
    INVALIDATED = "invalidated"
    EXPIRED = "expired"

    @property
    def open(self) -> bool:
        """Return True while later bars can still change this status."""
        return self in (Status.FORMING, Status.ACTIVE, Status.CONFIRMED)


@dataclass(frozen=True)
class PatternParams:
    """Tuning of every detector; the field names match the ``patterns`` settings section.

    Distances are in multiples of ATR (``atr_period``) so one setting fits every price and
    timeframe.
    """

    atr_period: int = 14
    pivot_window: int = 3
    min_swing_atr: float = 2.0
    volume_lookback: int = 20
    breakout_rel_volume: float = 1.5
    break_buffer_atr: float = 0.1
    level_tolerance_atr: float = 1.0
    min_level_touches: int = 2
    max_levels: int = 8
    trendline_min_pivots: int = 3
    trendline_max_pivots: int = 6
    line_tolerance_atr: float = 1.0
    line_tolerance_height: float = 0.05
    min_pattern_height_atr: float = 6.0
    peak_tolerance_atr: float = 1.0
    head_min_atr: float = 1.0
    flat_slope_atr: float = 1.0
    flat_ratio: float = 0.2
    triangle_pivots: int = 6
    triangle_tolerance_atr: float = 0.6
    triangle_max_end_width: float = 0.6
    max_pattern_bars: int = 200
    pole_min_atr: float = 10.0
    pole_max_bars: int = 25
    flag_min_bars: int = 5
    flag_max_bars: int = 40
    flag_max_retrace: float = 0.5
    gap_min_atr: float = 0.5
    expiry_bars: int = 60
    min_confidence: float = 0.5

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> PatternParams:
        """Return params taking every known key of ``values`` (e.g. a settings section dump)."""
        names = {f.name for f in fields(cls)}
        return cls(**{k: v for k, v in values.items() if k in names})


@dataclass(frozen=True)
class Bars:
    """One symbol's bars as aligned float64 arrays, with ATR and relative volume."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray
    atr: np.ndarray
    rel_vol: np.ndarray

    def __len__(self) -> int:
        return len(self.close)

    @classmethod
    def from_frame(cls, df: pd.DataFrame, params: PatternParams = PatternParams()) -> Bars:
        """Return arrays from a bar frame (UTC index; open, high, low, close, volume).

        Raises:
            ValueError: when a column is missing or the index is not a DatetimeIndex.
        """
        missing = [c for c in ("open", "high", "low", "close", "volume") if c not in df.columns]
        if missing:
            raise ValueError(f"bar frame lacks columns {missing}")
        if not isinstance(df.index, pd.DatetimeIndex):
            raise ValueError("bar frame index must be a DatetimeIndex")
        idx = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
        ts = idx.tz_convert("UTC").as_unit("ns").asi8
        return cls.from_arrays(ts, df["open"].to_numpy(float), df["high"].to_numpy(float),
                               df["low"].to_numpy(float), df["close"].to_numpy(float),
                               df["volume"].to_numpy(float), params)

    @classmethod
    def from_arrays(cls, ts: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray,
                    c: np.ndarray, v: np.ndarray, params: PatternParams = PatternParams()) -> Bars:
        """Return bars from plain arrays, computing ATR (TA-Lib) and relative volume."""
        h, lo, c = (np.ascontiguousarray(a, dtype=np.float64) for a in (h, lo, c))
        v = np.ascontiguousarray(v, dtype=np.float64)
        return cls(np.asarray(ts, dtype=np.int64), np.asarray(o, dtype=np.float64), h, lo, c, v,
                   _atr(h, lo, c, params.atr_period), _rel_volume(v, params.volume_lookback))

    @cached_property
    def atr_median(self) -> float:
        """Return the median ATR: the volatility unit of levels and lines (0.0 without bars).

        Several detectors need it; computed once per bars (``mirror`` shares it).
        """
        return float(np.median(self.atr)) if len(self.atr) else 0.0

    def mirror(self) -> Bars:
        """Return the bars upside down (prices negated), so a bearish detector finds bullish
        patterns and vice versa; ATR and volume are unchanged."""
        out = Bars(self.ts, -self.open, -self.low, -self.high, -self.close, self.volume,
                   self.atr, self.rel_vol)
        if "atr_median" in self.__dict__:
            out.__dict__["atr_median"] = self.__dict__["atr_median"]
        return out


def _atr(h: np.ndarray, lo: np.ndarray, c: np.ndarray, period: int) -> np.ndarray:
    """Return ATR with its warm-up filled, so every bar has a usable volatility unit."""
    n = len(c)
    if n == 0:
        return np.zeros(0)
    if n > period:
        atr = talib.ATR(h, lo, c, timeperiod=period)
    else:
        atr = np.full(n, np.nan)
    tr = h - lo
    if n > 1:
        tr[1:] = np.maximum(tr[1:], np.maximum(np.abs(h[1:] - c[:-1]), np.abs(lo[1:] - c[:-1])))
    # TA-Lib leaves the first `period` bars NaN; the running mean of the true range stands in.
    warm = np.cumsum(tr) / np.arange(1, n + 1)
    atr = np.where(np.isnan(atr), warm, atr)
    floor = max(float(np.nanmedian(atr)) * 1e-3, 1e-9)
    return np.maximum(atr, floor)


def _rel_volume(v: np.ndarray, lookback: int) -> np.ndarray:
    """Return each bar's volume over the mean of the ``lookback`` bars before it (1.0 at start)."""
    n = len(v)
    csum = np.concatenate(([0.0], np.cumsum(v)))
    i = np.arange(n)
    lo = np.maximum(i - lookback, 0)
    count = i - lo
    prev = np.where(count > 0, (csum[i] - csum[lo]) / np.maximum(count, 1), np.nan)
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where((count > 0) & (prev > 0), v / prev, 1.0)
    return rel


@dataclass(frozen=True)
class Pivot:
    """A confirmed swing high (``kind='H'``) or low (``'L'``) at bar ``idx``."""

    idx: int
    kind: str
    price: float

    def mirrored(self) -> Pivot:
        return Pivot(self.idx, "L" if self.kind == "H" else "H", -self.price)


@dataclass(frozen=True)
class Level:
    """A support or resistance level: clustered swing pivots."""

    price: float
    kind: str  # 'support' or 'resistance' relative to the last close
    touches: int
    strength: float
    low: float
    high: float
    first_ts: int
    last_ts: int
    touch_ts: tuple[int, ...]
    measurements: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True)
class Detection:
    """One chart pattern found in one symbol's bars, with its key prices and confidence."""

    pattern: str
    direction: Direction
    status: Status
    start_ts: int
    end_ts: int
    pivots: tuple[tuple[str, int, float], ...]
    confidence: float
    measurements: dict[str, float]
    neckline: float | None = None
    breakout_level: float | None = None
    target: float | None = None
    invalidation: float | None = None
    upper: float | None = None
    lower: float | None = None
    confirmed_ts: int | None = None
    resolved_ts: int | None = None

    @property
    def key(self) -> str:
        """Return a stable identity: same pattern on the same pivots -> same key."""
        parts = [self.pattern, str(self.start_ts), *(f"{n}:{t}" for n, t, _ in self.pivots)]
        return hashlib.sha1("|".join(parts).encode()).hexdigest()[:20]

    def mirrored(self, pattern: str) -> Detection:
        """Return this detection of mirrored bars mapped back to real prices as ``pattern``."""
        def neg(x: float | None) -> float | None:
            return None if x is None else -x

        flip = {Direction.BULLISH: Direction.BEARISH, Direction.BEARISH: Direction.BULLISH,
                Direction.NEUTRAL: Direction.NEUTRAL}
        return replace(self, pattern=pattern, direction=flip[self.direction],
                       pivots=tuple((n, t, -p) for n, t, p in self.pivots),
                       neckline=neg(self.neckline), breakout_level=neg(self.breakout_level),
                       target=neg(self.target), invalidation=neg(self.invalidation),
                       upper=neg(self.lower), lower=neg(self.upper))


def weighted_score(parts: Mapping[str, float], weights: Mapping[str, float]) -> float:
    """Return the weighted mean of sub-scores clipped to [0, 1], rounded to 4 places."""
    total = sum(weights.values())
    s = sum(weights[k] * min(1.0, max(0.0, float(parts[k]))) for k in weights)
    return round(s / total, 4) if total else 0.0


def clip01(x: float) -> float:
    return float(min(1.0, max(0.0, x)))
