"""Resample one-minute bars to 5m, 15m, 1h and 1d, aligned to sessions.

Buckets start at the session open (09:30 New York for equities, 00:00 UTC for crypto), so an
hour bar is 09:30-10:30 and the last one of a regular session is 15:30-16:00; a daily bar is
the whole session, stamped with the session's open time.  The result equals pandas'
``resample(rule, origin=<session open>, closed='left', label='left')`` on each session.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shared.market.calendar import MarketCalendar
from shared.market.frames import empty_frame, make_frame
from shared.market.timeframes import parse_timeframe

_DAY_NS = 86_400_000_000_000


def bucket_starts(ts_ns: np.ndarray, timeframe: str, calendar: MarketCalendar,
                  crypto: bool = False) -> np.ndarray:
    """Return each bar's bucket open time (int64 ns); -1 for bars outside any session."""
    tf = parse_timeframe(timeframe)
    if crypto:
        origin = ts_ns - ts_ns % _DAY_NS
    else:
        origin = calendar.session_open_for(ts_ns)
    if tf.is_daily:
        return origin
    dur = tf.minutes * 60_000_000_000
    out = origin + (ts_ns - origin) // dur * dur
    return np.where(origin < 0, -1, out)


def resample_bars(df: pd.DataFrame, timeframe: str, calendar: MarketCalendar,
                  crypto: bool = False) -> pd.DataFrame:
    """Return ``df`` (one-minute bars, sorted) aggregated to ``timeframe``.

    Bars outside every session are left out and counted in ``attrs['outside_session']``.
    """
    tf = parse_timeframe(timeframe)
    attrs = dict(df.attrs)
    if len(df) == 0:
        out = empty_frame(attrs.get("symbol", ""), tf.name, attrs.get("source", ""))
        return out
    ts = df.index.as_unit("ns").asi8
    if tf.name == "1m":
        return df
    b = bucket_starts(ts, tf.name, calendar, crypto)
    keep = b >= 0
    outside = int((~keep).sum())
    b = b[keep]
    o = df["open"].to_numpy()[keep]
    h = df["high"].to_numpy()[keep]
    lo = df["low"].to_numpy()[keep]
    c = df["close"].to_numpy()[keep]
    v = df["volume"].to_numpy(dtype="int64")[keep]
    vw = df["vwap"].to_numpy(dtype="float64", na_value=np.nan)[keep] if "vwap" in df else None
    n = (df["trade_count"].to_numpy(dtype="float64", na_value=np.nan)[keep]
         if "trade_count" in df else None)
    if len(b) == 0:
        return empty_frame(attrs.get("symbol", ""), tf.name, attrs.get("source", ""))
    starts = np.flatnonzero(np.r_[True, b[1:] != b[:-1]])
    ends = np.r_[starts[1:], len(b)] - 1
    vol = np.add.reduceat(v, starts)
    vwap = None
    if vw is not None:
        num = np.add.reduceat(np.nan_to_num(vw) * v, starts)
        with np.errstate(invalid="ignore", divide="ignore"):
            vwap = np.where(vol > 0, np.round(num / np.maximum(vol, 1), 4), np.nan)
        has_nan = np.add.reduceat(np.isnan(vw).astype("int64"), starts) > 0
        vwap = np.where(has_nan, np.nan, vwap)
    count = None
    if n is not None:
        nn = np.add.reduceat(np.isnan(n).astype("int64"), starts)
        tot = np.add.reduceat(np.nan_to_num(n), starts)
        count = pd.array(np.where(nn > 0, -1, tot).astype("int64"), dtype="Int64")
        count[nn > 0] = pd.NA
    out = make_frame(b[starts], o[starts], np.maximum.reduceat(h, starts),
                     np.minimum.reduceat(lo, starts), c[ends], vol, vwap, count,
                     symbol=attrs.get("symbol", ""), timeframe=tf.name,
                     source=attrs.get("source", ""))
    out.attrs["stale"] = bool(attrs.get("stale", False))
    out.attrs["outside_session"] = outside
    return out
