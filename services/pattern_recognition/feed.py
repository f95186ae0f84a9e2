"""Where this service reads bars and "now": the market data manager, or in-memory frames.

``MarketFeed`` wraps ``shared.market`` (data manager + market clock); ``FrameFeed`` serves
bar frames held in memory with a settable clock (tests, benchmarks, replays of saved data).
Both hand out only bars that have closed by the clock's "now", so nothing downstream can look
ahead.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd

from services.pattern_recognition.tails import Bars
from shared.market.access import MarketAccess
from shared.market.calendar import get_calendar, to_utc
from shared.market.frames import empty_frame
from shared.market.symbols import AssetClass, classify
from shared.market.timeframes import parse_timeframe

if TYPE_CHECKING:
    pass

_MIN_NS = 60_000_000_000


def ts_ns(index: pd.DatetimeIndex) -> np.ndarray:
    """Return a DatetimeIndex as int64 nanoseconds (pandas 3 may hold it in µs or s)."""
    return index.as_unit("ns").asi8


def bar_end_ns(ts_ns: np.ndarray, timeframe: str, crypto: bool = False) -> np.ndarray:
    """Return each bar's close time: ``ts + timeframe`` capped at its session's close.

    A daily equity bar closes with its session (the rule ``shared.market.clock`` uses for
    visibility, so a bar is visible exactly when its end has passed).
    """
    tf = parse_timeframe(timeframe)
    ts_ns = np.asarray(ts_ns, dtype="int64")
    end = ts_ns + tf.minutes * _MIN_NS
    if crypto:
        return end
    close = get_calendar().session_close_for(ts_ns)
    capped = close if tf.is_daily else np.minimum(end, close)
    return np.where(close > 0, capped, end)


def is_crypto(symbol: str) -> bool:
    return classify(symbol) == AssetClass.CRYPTO


class BarFeed(Protocol):
    """Visible bars and the market clock."""

    def now(self) -> pd.Timestamp: ...

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp,
             end: pd.Timestamp) -> pd.DataFrame: ...


def visible_only(df: pd.DataFrame, symbol: str, timeframe: str, now: pd.Timestamp) -> pd.DataFrame:
    """Return the rows of ``df`` whose bar has closed by ``now``."""
    if len(df) == 0:
        return df
    ends = bar_end_ns(ts_ns(df.index), timeframe, is_crypto(symbol))
    return df[ends <= now.value]


class FrameFeed:
    """Bars held in memory per (symbol, timeframe), with a clock the caller sets."""

    def __init__(self, frames: dict[tuple[str, str], pd.DataFrame] | None = None,
                 now: object = None) -> None:
        self.frames = dict(frames or {})
        self._now = to_utc(now) if now is not None else pd.Timestamp.max.tz_localize("UTC")

    def set_now(self, now: object) -> None:
        self._now = to_utc(now)

    def add(self, symbol: str, timeframe: str, df: pd.DataFrame) -> None:
        self.frames[(symbol, timeframe)] = df.sort_index()

    def now(self) -> pd.Timestamp:
        return self._now

    def symbols(self) -> list[str]:
        return sorted({s for s, _ in self.frames})

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp,
             end: pd.Timestamp) -> pd.DataFrame:
        df = self.frames.get((symbol, timeframe))
        if df is None:
            return empty_frame(symbol, timeframe, "memory")
        df = df[(df.index >= start) & (df.index < end)]
        return visible_only(df, symbol, timeframe, min(end, self._now))


class MarketFeed(MarketAccess):
    """Bars from ``shared.market``'s data manager; "now" from the market clock."""

    def _span(self, start: pd.Timestamp, end: pd.Timestamp
              ) -> tuple[Any, pd.Timestamp, pd.Timestamp] | None:
        """Return (data manager, now, ``end`` cut at now), or None when nothing is visible."""
        now = self.now()
        end = min(end, now)
        return None if end <= start else (self._market(), now, end)

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp,
             end: pd.Timestamp) -> pd.DataFrame:
        span = self._span(start, end)
        if span is None:
            return empty_frame(symbol, timeframe, "market")
        dm, now, end = span
        # as_of pins the data manager to the same "now" we report, so the two never disagree.
        df = dm.get_ohlcv(symbol, timeframe, start, end, as_of=now)
        return visible_only(df, symbol, timeframe, now)

    def bars_many(self, symbols: list[str], timeframe: str, start: pd.Timestamp,
                  end: pd.Timestamp) -> dict[str, pd.DataFrame]:
        """Return ``bars`` for many symbols, read in one batch; those that fail are left out."""
        span = self._span(start, end)
        if span is None:
            return {}
        dm, now, end = span
        errors: dict[str, object] = {}
        got = dm.get_ohlcv_many(symbols, timeframe, start, end, as_of=now, errors=errors)
        return {sym: visible_only(df, sym, timeframe, now) for sym, df in got.items()
                if sym in symbols and not df.attrs.get("stale")}

    def arrays_many(self, symbols: list[str], timeframe: str, start: pd.Timestamp,
                    end: pd.Timestamp) -> dict[str, Bars]:
        """Return ``bars_many`` as arrays (no frames: the few new bars of each step)."""
        span = self._span(start, end)
        if span is None:
            return {}
        dm, now, end = span
        errors: dict[str, object] = {}
        got = dm.get_bars_many(symbols, timeframe, start, end, as_of=now, errors=errors,
                               cache=False)
        out = {}
        for sym, arr in got.items():
            if sym not in symbols or arr.stale:
                continue
            ends = bar_end_ns(arr.ts, timeframe, is_crypto(sym))
            keep = ends <= now.value  # the rule ``visible_only`` applies
            out[sym] = Bars(arr.ts[keep], ends[keep], arr.open[keep], arr.high[keep],
                            arr.low[keep], arr.close[keep])
        return out
