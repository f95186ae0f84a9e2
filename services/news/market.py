"""What the news service reads from the market: "now" and per-session bars of a symbol.

``MarketView`` wraps ``shared.market``'s data manager and clock; ``FrameMarket`` serves daily
frames held in memory with a settable clock (tests).  Both give only bars visible at "now".
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

import numpy as np
import pandas as pd

from shared.market.access import MarketAccess
from shared.market.calendar import get_calendar, to_utc

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
    close = get_calendar().session_close_for(ns)
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
    """Sessions from ``shared.market``: complete daily bars plus today's open so far."""

    def name(self, symbol: str) -> str:
        info = self._market().universe.get(symbol)
        return getattr(info, "name", None) or symbol

    def sessions(self, symbol: str, start: pd.Timestamp, end: pd.Timestamp) -> pd.DataFrame:
        dm = self._market()
        now = self.now()
        end = min(end, now)
        if end <= start:
            return with_close_at(pd.DataFrame({"open": [], "close": []},
                                              index=pd.DatetimeIndex([], tz="UTC")))
        daily = dm.get_ohlcv(symbol, "1d", start, end, as_of=now)
        cal = get_calendar()
        session = cal.session_of(now)
        if session is not None:
            opened = cal.session_bounds(session)[0]
            if opened >= start and (len(daily) == 0 or daily.index[-1] < opened):
                first = dm.get_ohlcv(symbol, "1m", opened, opened + pd.Timedelta(minutes=1),
                                     as_of=now)
                if len(first):
                    row = pd.DataFrame({"open": [float(first["open"].iloc[0])],
                                        "close": [np.nan]}, index=pd.DatetimeIndex([opened]))
                    daily = pd.concat([daily[["open", "close"]], row])
        return with_close_at(daily)
