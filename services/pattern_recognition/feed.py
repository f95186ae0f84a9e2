"""Where this service reads bars and "now": a ``BarReader`` (the market data manager), or
bars held in memory.

``MarketFeed`` wraps a ``shared.market.BarReader`` (bars + market clock); ``FrameFeed`` serves
bar frames held in memory with a settable clock (tests, benchmarks, replays of saved data).
Both hand out ``BarArrays`` holding only bars that have closed by the clock's "now", so nothing
downstream can look ahead.
"""
from __future__ import annotations

from typing import Protocol

import numpy as np
import pandas as pd

from shared.errors import AppError
from shared.market.access import MarketAccess
from shared.market.calendar import get_calendar, to_utc
from shared.market.clock import bar_end
from shared.market.frames import BarArrays, empty_arrays
from shared.market.reader import BarReader
from shared.market.symbols import AssetClass, classify

_MIN_NS = 60_000_000_000


def ts_ns(index: pd.DatetimeIndex) -> np.ndarray:
    """Return a DatetimeIndex as int64 nanoseconds (pandas 3 may hold it in µs or s)."""
    return index.as_unit("ns").asi8


def bar_end_ns(ts_ns: np.ndarray, timeframe: str, crypto: bool = False) -> np.ndarray:
    """Return each bar's close time: the rule ``shared.market.clock`` uses for visibility,
    so a bar is visible exactly when its end has passed."""
    return bar_end(ts_ns, timeframe, get_calendar(), crypto=crypto)


def is_crypto(symbol: str) -> bool:
    return classify(symbol) == AssetClass.CRYPTO


class BarFeed(Protocol):
    """Visible bars (as ``BarArrays``) and the market clock.

    A feed may also offer ``bars_many(symbols, timeframe, start, end, *, cache=True)``, the
    same for many symbols in one read (those it cannot read left out); ``cache=False`` for
    bars the caller keeps (see ``BarReader.get_bars_many``).
    """

    def now(self) -> pd.Timestamp: ...

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp,
             end: pd.Timestamp) -> BarArrays: ...


def visible_only(bars: BarArrays, symbol: str, timeframe: str, now: pd.Timestamp) -> BarArrays:
    """Return the bars whose close (``bar_end_ns``) is at or before ``now``."""
    if not len(bars):
        return bars
    keep = bar_end_ns(bars.ts, timeframe, is_crypto(symbol)) <= now.value
    return bars if keep.all() else bars.take(keep)


class FrameFeed:
    """Bars held in memory per (symbol, timeframe), with a clock the caller sets."""

    def __init__(self, frames: dict[tuple[str, str], pd.DataFrame] | None = None,
                 now: object = None) -> None:
        self._bars: dict[tuple[str, str], BarArrays] = {}
        for (symbol, timeframe), df in (frames or {}).items():
            self.add(symbol, timeframe, df)
        self._now = to_utc(now) if now is not None else pd.Timestamp.max.tz_localize("UTC")

    def set_now(self, now: object) -> None:
        self._now = to_utc(now)

    def add(self, symbol: str, timeframe: str, df: pd.DataFrame) -> None:
        """Hold a bar frame's bars (a UTC index of open times; open/high/low/close/volume)."""
        self._bars[(symbol, timeframe)] = BarArrays.from_frame(df.sort_index())

    def now(self) -> pd.Timestamp:
        return self._now

    def symbols(self) -> list[str]:
        return sorted({s for s, _ in self._bars})

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp,
             end: pd.Timestamp) -> BarArrays:
        b = self._bars.get((symbol, timeframe))
        if b is None:
            return empty_arrays("memory")
        lo, hi = np.searchsorted(b.ts, [start.value, end.value], side="left").tolist()
        return visible_only(b.take(slice(lo, hi)), symbol, timeframe, min(end, self._now))


class MarketFeed(MarketAccess):
    """Bars from a ``BarReader`` (the process's data manager unless one is given); "now" from
    its market clock."""

    def _span(self, start: pd.Timestamp, end: pd.Timestamp
              ) -> tuple[BarReader, pd.Timestamp, pd.Timestamp] | None:
        """Return (reader, now, ``end`` cut at now), or None when nothing is visible."""
        now = self.now()
        end = min(end, now)
        return None if end <= start else (self._market(), now, end)

    def bars(self, symbol: str, timeframe: str, start: pd.Timestamp,
             end: pd.Timestamp) -> BarArrays:
        span = self._span(start, end)
        if span is None:
            return empty_arrays("market")
        reader, now, end = span
        # as_of pins the reader to the same "now" we report, so the two never disagree.
        got = reader.get_bars(symbol, timeframe, start, end, as_of=now)
        return visible_only(got, symbol, timeframe, now)

    def bars_many(self, symbols: list[str], timeframe: str, start: pd.Timestamp,
                  end: pd.Timestamp, *, cache: bool = True) -> dict[str, BarArrays]:
        """Return ``bars`` for many symbols, read in one batch; those that fail (or could only
        be served stale) are left out."""
        span = self._span(start, end)
        if span is None:
            return {}
        reader, now, end = span
        errors: dict[str, AppError] = {}
        got = reader.get_bars_many(symbols, timeframe, start, end, as_of=now, errors=errors,
                                   cache=cache)
        return {sym: visible_only(arr, sym, timeframe, now) for sym, arr in got.items()
                if sym in symbols and not arr.stale}
