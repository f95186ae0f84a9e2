"""Per-symbol visible bars over a sliding window, kept between scans and extended by new bars.

A scan at every clock step used to re-read weeks of bars for the whole universe; bars that
are visible never change, so each scan now reads only the bars after the last one cached (one
batched read per group of symbols sharing that bar) and drops those that left the window.
The result equals a fresh read of ``[start, now)``.  When the clock goes back, bars cached
after the new "now" must not be served (no look-ahead): the cache starts over.

Most scans come before the next bar of the timeframe can have closed (a 5-minute bar closes
every fifth one-minute step, a daily bar once a session, at its close): those skip the read altogether
(``may_have_new``), which was most of a scan's cost; and when, besides, no bar left the
window, the last answer is served as it was, without a pass over the symbols.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
import pandas as pd

from shared.market.clock import bar_visible
from shared.market.frames import BarArrays
from shared.market.reader import history_epoch
from shared.market.resample import next_bucket_start
from shared.market.timeframes import Timeframe, parse_timeframe
from shared.ta.market_source import load_bars_many


def _load(market: Any, symbols: list[str], timeframe: str, errors: dict[str, Any],
          start: pd.Timestamp) -> dict[str, BarArrays]:
    """Return ``load_bars_many``'s bars, read past the data manager's memory cache.

    The window keeps what it reads; cached too, the same arrays (and the columns the scan
    never uses) stayed pinned for the cache's TTL.
    """
    many = getattr(market, "get_bars_many", None)
    if many is None:
        return load_bars_many(market, symbols, timeframe, errors, start=start)
    return dict(many(symbols, parse_timeframe(timeframe).name, start, errors=errors,
                     cache=False))


def may_have_new(last_ns: int, now_ns: int, tf: Timeframe, cal: Any) -> bool:
    """Return whether a bar of ``tf`` opening after ``last_ns`` can be visible at ``now_ns``.

    Stored equity bars are validated to belong to a session and, above one minute, to open
    at a bucket start of it (an hour bar on the clock hour, a daily bar at its session's date,
    00:00 New York); and a bar's end never decreases with its open (see ``bar_visible``).  So
    the earliest bar that could follow ``last_ns`` decides: one bucket later in the same
    session, else the next session's first bucket (``next_bucket_start``).  When unsure (past
    the calendar's end) the answer is True: reading is always correct.
    """
    try:
        if tf.minutes > 1:
            nxt = next_bucket_start(last_ns, tf.name, cal)
        else:
            # one-minute bars are not checked for alignment: any later open is possible
            nxt = last_ns + 1
            if cal.session_close_for(np.array([nxt], "int64"))[0] < 0:
                nxt = cal.next_open(pd.Timestamp(nxt, tz="UTC")).value
    except Exception:  # noqa: BLE001 - past the calendar: fall back to reading
        return True
    return bool(bar_visible(np.array([nxt], "int64"), tf.name, cal, now_ns)[0])


class WindowBars:
    """Visible bars of one timeframe for many symbols, from ``start`` to the clock's now.

    ``version`` changes whenever what ``get`` serves may have changed (bars read, added,
    dropped or trimmed), so a caller can keep what it built from the bars until it does.
    """

    def __init__(self, market: Callable[[], Any], timeframe: str) -> None:
        self._market = market  # called on use: the data manager is built lazily
        self.timeframe = timeframe
        self._tf = parse_timeframe(timeframe)
        self._bars: dict[str, BarArrays] = {}
        self._from: dict[str, int] = {}  # the window start each symbol's bars were read from
        self._as_of: int | None = None
        self._epoch = 0  # the market owner's history epoch the kept bars were read at
        self._lock = threading.Lock()
        self.rows_read = 0  # bars read by the last ``get`` (a bulk read frees memory after)
        self.reads = 0  # batched reads by the last ``get``
        self.version = 0
        # the last ``get``: its symbols, its answer, the last bar times it grouped them by,
        # and the earliest first bar time and window start among them (see ``_unchanged``)
        self._last: tuple[tuple[str, ...], dict[str, BarArrays], list[int], int, int] | None = None

    def _unchanged(self, symbols: tuple[str, ...], start: int, now: int) -> dict[str, BarArrays] | None:
        """Return the last answer when it still holds: the same symbols, no bar to trim at
        ``start``, and no bar after any cached one visible at ``now`` (checked per distinct
        last bar time, not per symbol)."""
        last = self._last
        if last is None or last[0] != symbols or start < last[4] or start > last[3]:
            return None
        cal = getattr(self._market(), "calendar", None)
        if cal is None or any(may_have_new(t, now, self._tf, cal) for t in last[2]):
            return None
        return dict(last[1])

    def get(self, symbols: Sequence[str], start: pd.Timestamp, now: pd.Timestamp,
            errors: dict[str, Any]) -> dict[str, BarArrays]:
        """Return the visible bars with open time at or after ``start`` of each symbol.

        Symbols that cannot be read go to ``errors`` and are left out (and forgotten).
        """
        return self.get_versioned(symbols, start, now, errors)[0]

    def get_versioned(self, symbols: Sequence[str], start: pd.Timestamp, now: pd.Timestamp,
                      errors: dict[str, Any]) -> tuple[dict[str, BarArrays], int]:
        """Return ``get``'s answer with the ``version`` it was taken at (under one lock)."""
        with self._lock:
            out = self._get(symbols, start, now, errors)
            return out, self.version

    def _get(self, symbols: Sequence[str], start: pd.Timestamp, now: pd.Timestamp,
             errors: dict[str, Any]) -> dict[str, BarArrays]:
        epoch = history_epoch(self._market())
        if epoch != self._epoch:  # the owner stored older bars: kept windows may lack them
            self._epoch = epoch
            self._bars.clear()
            self._from.clear()
            self._last = None
            self.version += 1
        if self._as_of is not None and now.value < self._as_of:
            self._bars.clear()  # the clock went back: cached bars may lie after now
            self._from.clear()
            self._last = None
            self.version += 1
        self._as_of = now.value
        self.rows_read = self.reads = 0
        key = tuple(symbols)
        same = None if errors and any(s in errors for s in key) else \
            self._unchanged(key, start.value, now.value)
        if same is not None:
            return same
        self.version += 1
        fresh: list[str] = []
        by_last: dict[int, list[str]] = {}
        for sym in symbols:
            b = self._bars.get(sym)
            if b is None or len(b) == 0 or self._from[sym] > start.value:
                fresh.append(sym)  # nothing cached, or the window grew backwards
            else:
                by_last.setdefault(int(b.ts[-1]), []).append(sym)
        cal = getattr(self._market(), "calendar", None)
        for last, group in by_last.items():
            if cal is not None and not may_have_new(last, now.value, self._tf, cal):
                continue  # no bar after ``last`` can have closed yet: nothing to read
            self.reads += 1
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
                    old = old.then(new.take(ok))
                self._bars[sym] = old
        if fresh:
            self.reads += 1
            got = _load(self._market(), fresh, self.timeframe, errors, start)
            self.rows_read += sum(len(b) for b in got.values())
            for sym in fresh:
                if sym in got:
                    self._bars[sym] = got[sym]
                    self._from[sym] = start.value
                else:
                    self._bars.pop(sym, None)
        out: dict[str, BarArrays] = {}
        lasts: set[int] = set()
        first = np.iinfo("int64").max
        for sym in symbols:
            b = self._bars.get(sym)
            if b is None or sym in errors:
                continue
            if len(b) and b.ts[0] < start.value:
                b = b.since(start.value)
                self._bars[sym] = b
            if len(b):
                lasts.add(int(b.ts[-1]))
                first = min(first, int(b.ts[0]))
            out[sym] = b
        # an empty window, a symbol left out or one read from a later start: no reuse
        whole = len(out) == len(symbols) and all(len(b) for b in out.values())
        self._last = (key, out, sorted(lasts), first,
                      max(self._from[s] for s in out)) if whole and out else None
        return dict(out)

    def clear(self) -> None:
        with self._lock:
            self._bars.clear()
            self._from.clear()
            self._as_of = None
            self._last = None
            self.version += 1
