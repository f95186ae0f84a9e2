"""The one bar DataFrame shape used everywhere, and its conversions to and from micro-units.

A bar frame has a UTC ``DatetimeIndex`` named ``ts`` (the bar's *open* time) and the columns
``open, high, low, close`` (float64, cents-exact), ``volume`` (int64), ``vwap`` (float64, NaN when
unknown) and ``trade_count`` (Int64, missing when unknown).  ``attrs`` carry ``symbol``,
``timeframe``, ``source`` and ``stale``.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

PRICE_COLUMNS = ("open", "high", "low", "close")
BAR_COLUMNS = ("open", "high", "low", "close", "volume")
ALL_COLUMNS = (*BAR_COLUMNS, "vwap", "trade_count")


def empty_frame(symbol: str = "", timeframe: str = "", source: str = "") -> pd.DataFrame:
    df = pd.DataFrame(
        {"open": pd.Series(dtype="float64"), "high": pd.Series(dtype="float64"),
         "low": pd.Series(dtype="float64"), "close": pd.Series(dtype="float64"),
         "volume": pd.Series(dtype="int64"), "vwap": pd.Series(dtype="float64"),
         "trade_count": pd.Series(dtype="Int64")},
        index=pd.DatetimeIndex([], tz="UTC", name="ts"))
    df.attrs.update(symbol=symbol, timeframe=timeframe, source=source, stale=False)
    return df


def make_frame(ts_ns: np.ndarray, o: np.ndarray, h: np.ndarray, lo: np.ndarray, c: np.ndarray,
               v: np.ndarray, vwap: np.ndarray | None = None, n: np.ndarray | None = None,
               *, symbol: str = "", timeframe: str = "", source: str = "") -> pd.DataFrame:
    """Return a bar frame from plain arrays (times as int64 nanoseconds since the epoch, UTC)."""
    idx = pd.DatetimeIndex(pd.to_datetime(np.asarray(ts_ns, dtype="int64"), unit="ns", utc=True),
                           name="ts").as_unit("ns")
    df = pd.DataFrame({
        "open": np.asarray(o, dtype="float64"), "high": np.asarray(h, dtype="float64"),
        "low": np.asarray(lo, dtype="float64"), "close": np.asarray(c, dtype="float64"),
        "volume": np.asarray(v, dtype="int64"),
        "vwap": np.full(len(idx), np.nan) if vwap is None else np.asarray(vwap, dtype="float64"),
        "trade_count": pd.array([pd.NA] * len(idx) if n is None else n, dtype="Int64"),
    }, index=idx)
    df.attrs.update(symbol=symbol, timeframe=timeframe, source=source, stale=False)
    return df


def micros(values: np.ndarray) -> np.ndarray:
    """Return float prices as int64 micro-units (prices are cents-exact, so this is exact)."""
    return np.round(np.asarray(values, dtype="float64") * 1e6).astype("int64")


def from_micros_array(values: np.ndarray) -> np.ndarray:
    """Return int64 micro-units as float64 prices rounded to the micro-unit."""
    return np.round(np.asarray(values, dtype="float64") / 1e6, 6)


def iso(ts_ns: np.ndarray) -> list[str]:
    """Return int64 ns times as ISO-8601 UTC strings with ``+00:00`` (the database format)."""
    idx = pd.to_datetime(np.asarray(ts_ns, dtype="int64"), unit="ns", utc=True)
    return list(idx.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
