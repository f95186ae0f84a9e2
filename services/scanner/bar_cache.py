"""Per-symbol visible bars over a sliding window, kept between scans and extended by new bars.

A scan at every clock step used to re-read weeks of bars for the whole universe; bars that
are visible never change, so each scan now reads only the bars after the last one cached (one
batched read per group of symbols sharing that bar) and drops those that left the window.
The result equals a fresh read of ``[start, now)``.  When the clock goes back, bars cached
after the new "now" must not be served (no look-ahead): the cache starts over.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from services.technical_analysis.market_source import Bars, load_bars_many
from shared.market.timeframes import parse_timeframe


def _load(market: Any, symbols: list[str], timeframe: str, errors: dict[str, Any],
          start: pd.Timestamp) -> dict[str, Bars]:
    """Return ``load_bars_many``'s bars, read past the data manager's memory cache.

    The window keeps what it reads; cached too, the same arrays (and the columns the scan
    never uses) stayed pinned for the cache's TTL.
    """
    many = getattr(market, "get_bars_many", None)
    if many is None:
        return load_bars_many(market, symbols, timeframe, errors, start=start)
    tf = parse_timeframe(timeframe).name
    got = many(symbols, tf, start, errors=errors, cache=False)
    return {sym: Bars(sym, tf, arr.ts, arr.ohlcv()) for sym, arr in got.items()}


class WindowBars:
    """Visible bars of one timeframe for many symbols, from ``start`` to the clock's now."""

    def __init__(self, market: Callable[[], Any], timeframe: str) -> None:
        self._market = market  # called on use: the data manager is built lazily
        self.timeframe = timeframe
        self._bars: dict[str, Bars] = {}
        self._from: dict[str, int] = {}  # the window start each symbol's bars were read from
        self._as_of: int | None = None
        self._lock = threading.Lock()
        self.rows_read = 0  # bars read by the last ``get`` (a bulk read frees memory after)

    def get(self, symbols: Sequence[str], start: pd.Timestamp, now: pd.Timestamp,
            errors: dict[str, Any]) -> dict[str, Bars]:
        """Return the visible bars with open time at or after ``start`` of each symbol.

        Symbols that cannot be read go to ``errors`` and are left out (and forgotten).
        """
        with self._lock:
            if self._as_of is not None and now.value < self._as_of:
                self._bars.clear()  # the clock went back: cached bars may lie after now
                self._from.clear()
            self._as_of = now.value
            fresh: list[str] = []
            by_last: dict[int, list[str]] = {}
            for sym in symbols:
                b = self._bars.get(sym)
                if b is None or len(b) == 0 or self._from[sym] > start.value:
                    fresh.append(sym)  # nothing cached, or the window grew backwards
                else:
                    by_last.setdefault(int(b.ts[-1]), []).append(sym)
            self.rows_read = 0
            for last, group in by_last.items():
                got = _load(self._market(), group, self.timeframe, errors,
                            pd.Timestamp(last, tz="UTC"))
                self.rows_read += sum(len(b) for b in got.values())
                for sym in group:
                    new = got.get(sym)
                    if new is None:
                        self._bars.pop(sym, None)
                        continue
                    old = self._bars[sym]
                    ok = new.ts > last  # the read's start is inclusive (and second-granular)
                    if ok.any():
                        old = Bars(sym, self.timeframe, np.concatenate([old.ts, new.ts[ok]]),
                                   {k: np.concatenate([v, new.data[k][ok]])
                                    for k, v in old.data.items()})
                    self._bars[sym] = old
            if fresh:
                got = _load(self._market(), fresh, self.timeframe, errors, start)
                self.rows_read += sum(len(b) for b in got.values())
                for sym in fresh:
                    if sym in got:
                        self._bars[sym] = got[sym]
                        self._from[sym] = start.value
                    else:
                        self._bars.pop(sym, None)
            out: dict[str, Bars] = {}
            for sym in symbols:
                b = self._bars.get(sym)
                if b is None or sym in errors:
                    continue
                k = int(np.searchsorted(b.ts, start.value, side="left"))
                if k:
                    b = Bars(sym, self.timeframe, b.ts[k:],
                             {c: v[k:] for c, v in b.data.items()})
                    self._bars[sym] = b
                out[sym] = b
            return out

    def clear(self) -> None:
        with self._lock:
            self._bars.clear()
            self._from.clear()
            self._as_of = None
