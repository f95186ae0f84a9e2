"""Run every TA-Lib candlestick function over bars and turn the non-zero outputs into detections.

TA-Lib's ``CDL*`` functions return, per bar, 0 (no pattern), +-100 (pattern, bullish when
positive) or +-200 (a pattern that also got its confirmation bar, e.g. Hikkake).  We keep the
raw value, take the direction from its sign and report ``strength = |value| / 100``.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import numpy as np
import pandas as pd
import talib
from talib import abstract as _abstract

#: The 61 candlestick functions, in a fixed (sorted) order.
PATTERNS: tuple[str, ...] = tuple(sorted(talib.get_function_groups()["Pattern Recognition"]))
PATTERN_INDEX: dict[str, int] = {name: i for i, name in enumerate(PATTERNS)}
_FUNCS = tuple(getattr(talib, name) for name in PATTERNS)
#: The most bars any candlestick function needs before it can report (its TA-Lib lookback).
MAX_LOOKBACK: int = max(
    int(_abstract.Function(name).lookback) for name in PATTERNS)


@dataclass(frozen=True)
class DetectionArrays:
    """Detections of one bar series as parallel arrays, sorted by bar then pattern."""

    bar: np.ndarray       # int64 index of the bar the pattern completed on
    pattern: np.ndarray   # int64 index into PATTERNS
    value: np.ndarray     # int32 raw TA-Lib output (+-100 / +-200)

    def __len__(self) -> int:
        return len(self.bar)


@dataclass(frozen=True)
class Detection:
    """One candlestick pattern on one bar."""

    symbol: str
    timeframe: str
    ts: datetime            # the bar's open time (UTC)
    visible_at: datetime    # when the bar closed and the pattern became known
    pattern: str
    direction: int          # +1 bullish, -1 bearish
    value: int
    strength: float
    close: float
    tod_bucket: str

    @property
    def bias(self) -> str:
        return "bullish" if self.direction > 0 else "bearish"


def _as_f64(x: object) -> np.ndarray:
    return np.ascontiguousarray(x, dtype="float64")


def pattern_matrix(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray) -> np.ndarray:
    """Return the (61 x bars) int32 matrix of every candlestick function's output.

    Raises:
        ValueError: when the four arrays differ in length.
    """
    o, h, lo, c = _as_f64(o), _as_f64(h), _as_f64(lo), _as_f64(c)
    n = len(c)
    if not (len(o) == len(h) == len(lo) == n):
        raise ValueError(f"open/high/low/close lengths differ: {len(o)}, {len(h)}, {len(lo)}, {n}")
    out = np.empty((len(_FUNCS), n), dtype=np.int32)
    for i, fn in enumerate(_FUNCS):
        out[i] = fn(o, h, lo, c)
    return out


def detect_arrays(o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
                  start: int = 0, patterns: tuple[str, ...] | None = None) -> DetectionArrays:
    """Return the detections on bars ``start..`` (earlier bars serve only as warm-up).

    ``patterns`` limits the output to those names (all 61 when None).

    Raises:
        ValueError: for unequal array lengths or an unknown pattern name.
    """
    m = pattern_matrix(o, h, lo, c)
    if patterns is not None:
        unknown = [p for p in patterns if p not in PATTERN_INDEX]
        if unknown:
            raise ValueError(f"unknown candlestick pattern(s) {unknown}")
        keep = np.zeros(len(PATTERNS), dtype=bool)
        keep[[PATTERN_INDEX[p] for p in patterns]] = True
        m[~keep] = 0
    # Bar-major (one contiguous copy) so detections come out ordered by bar; flatnonzero on a
    # contiguous block is several times cheaper than np.nonzero on the transposed view.
    bm = np.ascontiguousarray(m[:, start:].T)
    flat = np.flatnonzero(bm)
    npat = bm.shape[1]
    return DetectionArrays(bar=flat // npat + start, pattern=flat % npat,
                           value=bm.ravel()[flat])


def tod_buckets(ts: pd.DatetimeIndex, bucket_minutes: int, tz: str, daily: bool) -> np.ndarray:
    """Return each bar's time-of-day bucket label ('09:30', '10:00'...) in exchange time."""
    if daily:
        return np.full(len(ts), "session", dtype=object)
    local = ts.tz_convert(tz)
    minute = local.hour.to_numpy() * 60 + local.minute.to_numpy()
    start = minute // bucket_minutes * bucket_minutes
    return np.array([f"{m // 60:02d}:{m % 60:02d}" for m in start], dtype=object)


def detect_frame(symbol: str, timeframe: str, df: pd.DataFrame, bar_end_ns: np.ndarray, *,
                 start_ts: pd.Timestamp | None = None, bucket_minutes: int = 30,
                 tz: str = "America/New_York",
                 patterns: tuple[str, ...] | None = None) -> list[Detection]:
    """Return the detections on the bars of ``df`` whose open time is at or after ``start_ts``.

    ``df`` is a bar frame (UTC index of bar open times; open, high, low, close) and
    ``bar_end_ns`` each bar's close time (int64 ns), when its pattern becomes known; bars
    before ``start_ts`` warm TA-Lib up but are not reported.

    Raises:
        ValueError: when ``df`` lacks a price column or a pattern name is unknown.
    """
    missing = [col for col in ("open", "high", "low", "close") if col not in df]
    if missing:
        raise ValueError(f"bars lack column(s) {missing}")
    if len(df) == 0:
        return []
    start = 0 if start_ts is None else int(df.index.searchsorted(start_ts, side="left"))
    arr = detect_arrays(df["open"].to_numpy(), df["high"].to_numpy(), df["low"].to_numpy(),
                        df["close"].to_numpy(), start=start, patterns=patterns)
    if not len(arr):
        return []
    idx = df.index[arr.bar]
    buckets = tod_buckets(idx, bucket_minutes, tz, timeframe == "1d")
    close = df["close"].to_numpy(dtype="float64")[arr.bar]
    ends = np.asarray(bar_end_ns, dtype="int64")[arr.bar]
    out = []
    for i in range(len(arr)):
        ts = idx[i].to_pydatetime()
        v = int(arr.value[i])
        out.append(Detection(
            symbol=symbol, timeframe=timeframe, ts=ts,
            visible_at=pd.Timestamp(int(ends[i]), tz="UTC").to_pydatetime(),
            pattern=PATTERNS[int(arr.pattern[i])], direction=1 if v > 0 else -1, value=v,
            strength=abs(v) / 100.0, close=float(close[i]), tod_bucket=str(buckets[i])))
    return out
