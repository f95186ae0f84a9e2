"""Resample one-minute bars to 5m, 15m, 1h and 1d, stamped as Alpaca stamps its bars.

Intraday buckets are on clock boundaries in New York time: 5m and 15m buckets start at the
session open (09:30 is on both), an hour bar on the clock hour, so a regular session's hour
bars are 09:00 (holding 09:30-10:00), 10:00, ... 15:00 and a half day's end with 12:00.  A
daily bar is the whole session, stamped with the session's date at 00:00 New York (04:00 or
05:00 UTC).  Crypto buckets are on UTC boundaries; its daily bar is the UTC day at 00:00.
Minutes outside every session are left out of equity buckets.  The result equals pandas'
``resample(rule, closed='left', label='left')`` of each session in New York time.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

from shared.market.calendar import MarketCalendar
from shared.market.frames import empty_frame, make_frame
from shared.market.timeframes import parse_timeframe

_DAY_NS = 86_400_000_000_000
_MIN_NS = 60_000_000_000


def bucket_starts(ts_ns: np.ndarray, timeframe: str, calendar: MarketCalendar,
                  crypto: bool = False) -> np.ndarray:
    """Return each one-minute bar's bucket open time (int64 ns); -1 for bars outside any session.

    Intraday buckets are floored in UTC: every New York offset is a whole number of hours,
    so that is the New York clock floor too.
    """
    tf = parse_timeframe(timeframe)
    ts_ns = np.asarray(ts_ns, dtype="int64")
    if tf.is_daily:
        return ts_ns - ts_ns % _DAY_NS if crypto else calendar.session_stamp_for(ts_ns)
    dur = tf.minutes * _MIN_NS
    out = ts_ns - ts_ns % dur
    if crypto:
        return out
    return np.where(calendar.session_open_for(ts_ns) < 0, -1, out)


def bar_stamps(ts_ns: np.ndarray, timeframe: str, calendar: MarketCalendar,
               crypto: bool = False) -> np.ndarray:
    """Return the stamp each bar of ``timeframe`` (open times, int64 ns) should carry; -1 for
    an equity bar belonging to no session (``MarketCalendar.bar_session_index``).

    A bar is aligned when this equals its open time: the hour bar stamped 09:00 New York is,
    one stamped 09:30 is not; a daily bar must open at 00:00 New York of its session's date.
    """
    tf = parse_timeframe(timeframe)
    ts_ns = np.asarray(ts_ns, dtype="int64")
    if crypto:
        return ts_ns - ts_ns % (_DAY_NS if tf.is_daily else tf.minutes * _MIN_NS)
    i = calendar.bar_session_index(ts_ns, tf)
    if tf.is_daily:
        out = calendar.session_stamps_ns()[np.maximum(i, 0)]
    else:
        out = ts_ns - ts_ns % (tf.minutes * _MIN_NS)
    return np.where(i >= 0, out, -1)


def next_bucket_start(last_ns: int, timeframe: str, calendar: MarketCalendar,
                      crypto: bool = False) -> int:
    """Return the open time of the first bucket after the one opening at ``last_ns``.

    For equities that is one bucket later inside the session, else the first bucket of the
    next session (the 09:00 hour bar, the next session's daily stamp).

    Raises:
        ValidationError: past the calendar's last session.
    """
    tf = parse_timeframe(timeframe)
    if crypto:
        return int(last_ns) + (_DAY_NS if tf.is_daily else tf.minutes * _MIN_NS)
    if tf.is_daily:
        return calendar.next_session_stamp(pd.Timestamp(int(last_ns), tz="UTC")).value
    dur = tf.minutes * _MIN_NS
    nxt = int(last_ns) + dur
    if calendar.bar_close_for(np.array([nxt], "int64"), tf)[0] < 0:
        nxt = calendar.next_open(pd.Timestamp(nxt, tz="UTC")).value
        nxt -= nxt % dur
    return nxt


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
