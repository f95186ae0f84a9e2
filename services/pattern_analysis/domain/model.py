"""Value types of chart-pattern analysis: bars with ATR, pivots, levels, detections, parameters.

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

from shared.market.frames import BarArrays


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
class Derived:
    """One symbol's bars with the columns every detector derives from them: ATR and relative
    volume, aligned with the bars.

    The bars are a ``shared.market.frames.BarArrays`` (its columns and dtypes are documented
    there); their columns read through (``ts``, ``open``, ``high``, ``low``, ``close``), and
    ``volume`` reads as float64, the form the volume checks compute in.
    """

    bars: BarArrays
    atr: np.ndarray
    rel_vol: np.ndarray

    def __len__(self) -> int:
        return len(self.bars)

    @classmethod
    def of(cls, bars: BarArrays, params: PatternParams = PatternParams()) -> Derived:
        """Return ``bars`` with their ATR (TA-Lib) and relative volume."""
        h, lo, c = (np.ascontiguousarray(a, dtype=np.float64)
                    for a in (bars.high, bars.low, bars.close))
        volume = bars.volume.astype(np.float64)
        out = cls(bars, _atr(h, lo, c, params.atr_period),
                  _rel_volume(volume, params.volume_lookback))
        out.__dict__["volume"] = volume  # computed anyway: seed the cached property
        return out

    @classmethod
    def from_frame(cls, df: pd.DataFrame, params: PatternParams = PatternParams()) -> Derived:
        """Return ``of`` a bar frame (UTC or naive-UTC index; open, high, low, close, volume).

        Raises:
            ValueError: when a column is missing or the index is not a DatetimeIndex.
        """
        missing = [c for c in ("open", "high", "low", "close", "volume") if c not in df.columns]
        if missing:
            raise ValueError(f"bar frame lacks columns {missing}")
        if not isinstance(df.index, pd.DatetimeIndex):
            raise ValueError("bar frame index must be a DatetimeIndex")
        return cls.of(BarArrays.from_frame(df), params)

    # The bars' columns, read through (cached: the detectors read them in loops).
    @cached_property
    def ts(self) -> np.ndarray:
        return self.bars.ts

    @cached_property
    def open(self) -> np.ndarray:
        return self.bars.open

    @cached_property
    def high(self) -> np.ndarray:
        return self.bars.high

    @cached_property
    def low(self) -> np.ndarray:
        return self.bars.low

    @cached_property
    def close(self) -> np.ndarray:
        return self.bars.close

    @cached_property
    def volume(self) -> np.ndarray:
        """Return the volume as float64."""
        return self.bars.volume.astype(np.float64)

    @cached_property
    def atr_median(self) -> float:
        """Return the median ATR: the volatility unit of levels and lines (0.0 without bars).

        Several detectors need it; computed once per bars (``mirror`` shares it).
        """
        return float(np.median(self.atr)) if len(self.atr) else 0.0

    def mirror(self) -> Derived:
        """Return the bars upside down (prices negated), so a bearish detector finds bullish
        patterns and vice versa; ATR and volume are unchanged."""
        b = self.bars
        out = Derived(BarArrays(b.ts, -b.open, -b.low, -b.high, -b.close, b.volume, b.vwap,
                                b.trade_count, b.source, b.stale), self.atr, self.rel_vol)
        for shared in ("atr_median", "volume"):
            if shared in self.__dict__:
                out.__dict__[shared] = self.__dict__[shared]
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
