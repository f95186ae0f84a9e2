"""What the news service reads from the market: "now" and per-session bars of a symbol.

``MarketView`` wraps ``shared.market``'s data manager and clock; ``FrameMarket`` serves daily
frames held in memory with a settable clock (tests).  Both give only bars visible at "now".
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any, Protocol

import numpy as np
import pandas as pd
from cachetools import LRUCache

from shared.market.access import MarketAccess
from shared.market.calendar import get_calendar, to_utc
from shared.market.symbols import AssetClass, classify

if TYPE_CHECKING:
    pass


class Market(Protocol):
    def now(self) -> pd.Timestamp: ...

    def sessions(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        """Return one row per session (open, close, close_at) visible by now."""
        ...

    def name(self, symbol: str) -> str: ...


def with_close_at(daily: pd.DataFrame) -> pd.DataFrame:
    """Return ``daily`` with ``close_at``: each session's close time from the calendar."""
    out = daily[["open", "close"]].astype("float64").copy()
    ns = daily.index.as_unit("ns").asi8
    close = get_calendar().session_close_for(ns)  # rows are sessions by their open time
    # Crypto "sessions" are UTC days: they close 24 hours after they open.
    close = np.where(close > 0, close, ns + 86_400_000_000_000)
    out["close_at"] = pd.to_datetime(close, utc=True)
    return out


class FrameMarket:
    """Daily bars per symbol held in memory, visible once their session has closed."""

    def __init__(self, daily: dict[str, pd.DataFrame], now: object,
                 names: dict[str, str] | None = None) -> None:
        self.daily = {s: with_close_at(df.sort_index()) for s, df in daily.items()}
        self._now = to_utc(now)
        self.names = names or {}

    def set_now(self, now: object) -> None:
        self._now = to_utc(now)

    def now(self) -> pd.Timestamp:
        return self._now

    def name(self, symbol: str) -> str:
        return self.names.get(symbol, symbol)

    def sessions(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        df = self.daily.get(symbol)
        if df is None:
            return with_close_at(pd.DataFrame({"open": [], "close": []},
                                              index=pd.DatetimeIndex([], tz="UTC")))
        df = df[(df.index >= start) & (df.index < end) & (df.index < self._now)].copy()
        # A session still trading shows its opening price (known one minute after the open)
        # but no close yet.
        trading = df["close_at"] > self._now
        df.loc[trading, "close"] = np.nan
        opened = df.index + pd.Timedelta(minutes=1) <= self._now
        return df[opened]


class MarketView(MarketAccess):
    """Sessions from ``shared.market``: complete daily bars plus today's open so far.

    What ``sessions`` returns for an equity depends only on which sessions lie in the window,
    which of them have closed and whether today's first minute has: visible bars never
    change, so the frame is kept under that key and a refresh every clock step (the same
    sessions all day) reads nothing.
    """

    def __init__(self, settings: Any, dm: Any = None) -> None:
        super().__init__(settings, dm)
        # Frames of the current moment only (see ``sessions``): one per symbol and window.
        self._frames: LRUCache[tuple[Any, ...], pd.DataFrame] = LRUCache(maxsize=4096)
        self._moment: tuple[Any, ...] | None = None  # the "now" part of the kept frames' keys
        self._lock = threading.Lock()

    def name(self, symbol: str) -> str:
        info = self._market().universe.get(symbol)
        return getattr(info, "name", None) or symbol

    @staticmethod
    def _key(symbol: str, start: pd.Timestamp, end: pd.Timestamp, now: pd.Timestamp
             ) -> tuple[Any, ...] | None:
        if classify(symbol) == AssetClass.CRYPTO:
            return None
        cal = get_calendar()
        opens, closes, stamps = cal._open_ns, cal._close_ns, cal.session_stamps_ns()
        # which daily bars (stamped 00:00 New York) lie in the window and have closed
        i0 = int(np.searchsorted(stamps, start.value, side="left"))
        shown = min(int(np.searchsorted(stamps, end.value, side="left")),
                    int(np.searchsorted(closes, now.value, side="right")))
        cur = int(np.searchsorted(opens, now.value, side="right")) - 1
        if cur < 0 or now.value >= closes[cur]:
            cur = -1
        first = cur >= 0 and now.value >= opens[cur] + 60_000_000_000
        return (symbol, i0, shown, cur, first)

    def sessions(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        now = self.now()
        end = min(end, now)
        if end <= start:
            return with_close_at(pd.DataFrame({"open": [], "close": []},
                                              index=pd.DatetimeIndex([], tz="UTC")))
        key = self._key(symbol, pd.Timestamp(start), pd.Timestamp(end), now)
        if key is not None:
            with self._lock:
                if key[3:] != self._moment:
                    # "now" entered another session (or today's first minute passed, or the
                    # clock went back): no frame kept for the moment before is asked for
                    # again.  Left to the LRU, they piled up to its 4,096 frames (each with
                    # the index references of the copies served from it), a session at a time.
                    self._frames.clear()
                    self._moment = key[3:]
                hit = self._frames.get(key)
            if hit is not None:
                return hit.copy()
        out, complete = self._sessions(symbol, start, end, now)
        if key is not None and complete:
            with self._lock:
                self._frames[key] = out.copy()
        return out

    def _sessions(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp,
                  now: pd.Timestamp) -> tuple[pd.DataFrame, bool]:
        """Return the frame and whether it is complete (nothing stale or failed in it)."""
        dm = self._market()
        daily = dm.get_ohlcv(symbol, "1d", start, end, as_of=now)
        complete = not daily.attrs.get("stale") and not daily.attrs.get("errors")
        cal = get_calendar()
        session = cal.session_of(now)
        if classify(symbol) != AssetClass.CRYPTO and len(daily):
            # the generator's rows are sessions by their open time (a daily bar is stamped
            # 00:00 New York): its stories are published before, and known after, the open
            i = cal.bar_session_index(daily.index.as_unit("ns").asi8, "1d")
            daily = daily[i >= 0]
            daily.index = pd.DatetimeIndex(cal.opens[i[i >= 0]])
        if session is not None:
            opened = cal.session_bounds(session)[0]
            stamp = cal.session_stamp(session)  # where its daily bar will be stamped
            if stamp >= start and (len(daily) == 0 or daily.index[-1] < opened):
                first = dm.get_ohlcv(symbol, "1m", opened, opened + pd.Timedelta(minutes=1),
                                     as_of=now)
                complete = complete and not first.attrs.get("stale") and \
                    not first.attrs.get("errors")
                if len(first):
                    row = pd.DataFrame({"open": [float(first["open"].iloc[0])],
                                        "close": [np.nan]}, index=pd.DatetimeIndex([opened]))
                    daily = pd.concat([daily[["open", "close"]], row])
        return with_close_at(daily), complete
