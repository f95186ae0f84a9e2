"""The service's view of market data: visible bars as numpy arrays, the clock, the universe.

A thin adapter over ``shared.market.DataManager`` (which only returns bars the market clock
has made visible), so the use cases and tests can also run on any object with these methods.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

import numpy as np
import pandas as pd

from shared.errors import AppError
from shared.market.timeframes import parse_timeframe

COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Bars:
    """Bars of one symbol and timeframe as arrays (times: int64 ns UTC bar open)."""

    symbol: str
    timeframe: str
    ts: np.ndarray
    data: dict[str, np.ndarray]

    def __len__(self) -> int:
        return int(self.ts.size)

    def tail(self, n: int) -> Bars:
        return Bars(self.symbol, self.timeframe, self.ts[-n:],
                    {k: v[-n:] for k, v in self.data.items()})


def bars_from_frame(symbol: str, timeframe: str, df: pd.DataFrame) -> Bars:
    """Return a bar frame (UTC index; open/high/low/close/volume) as arrays."""
    ts = np.asarray(pd.DatetimeIndex(df.index).as_unit("ns").asi8, dtype="int64")
    data = {c: np.ascontiguousarray(df[c].to_numpy(dtype="float64")) for c in COLUMNS}
    return Bars(symbol, timeframe, ts, data)


class MarketData(Protocol):
    def get_ohlcv(self, symbol: str, timeframe: str = ..., start: object = ...,
                  end: object = ...) -> pd.DataFrame: ...


def load_bars(market: Any, symbol: str, timeframe: str, *, start: object = None,
              end: object = None, bars: int | None = None, days: int = 5) -> Bars:
    """Return the visible bars of ``symbol``: in ``[start, end)``, or the last ``bars`` of them.

    Without ``start`` it reads back ``bars`` bar-lengths (widening until enough are found, as
    nights, weekends and holidays have none) or ``days`` calendar days.

    Raises:
        ValidationError: bad symbol, timeframe or range (from the data manager).
        ServiceUnavailable: no provider could serve the bars.
    """
    tf = parse_timeframe(timeframe)
    if start is not None or bars is None:
        if start is None:
            now = market.clock.now_ts() if hasattr(market, "clock") else pd.Timestamp.now("UTC")
            start = now - pd.Timedelta(days=days)
        out = bars_from_frame(symbol, tf.name, market.get_ohlcv(symbol, tf.name, start, end))
        return out.tail(bars) if bars else out
    now = pd.Timestamp(end) if end is not None else market.clock.now_ts()
    span = tf.duration * bars * (1.0 if tf.is_daily else 1.05)
    if tf.is_daily:
        span = span * 7 / 5 + pd.Timedelta(days=10)
    else:
        # Sessions are 6.5 h of 24: allow one overnight gap up front, so a session's worth of
        # bars read at the next open takes one read, not two.
        span += pd.Timedelta(hours=18)
    got = None
    for _ in range(6):
        got = bars_from_frame(symbol, tf.name, market.get_ohlcv(symbol, tf.name, now - span, end))
        if len(got) >= bars:
            return got.tail(bars)
        span *= 4
    assert got is not None
    return got


def load_bars_many(market: Any, symbols: list[str], timeframe: str, errors: dict[str, Any], *,
                   start: object = None, bars: int | None = None, days: int = 5
                   ) -> dict[str, Bars]:
    """Return ``load_bars`` for many symbols, read in one batch when the market offers it.

    Symbols that fail go to ``errors`` (by the name given); those with fewer than ``bars``
    bars in the first window are read again one by one, widening as ``load_bars`` does.
    """
    tf = parse_timeframe(timeframe)
    many = getattr(market, "get_bars_many", None)
    out: dict[str, Bars] = {}
    if many is None or not symbols:
        for sym in symbols:
            try:
                out[sym] = load_bars(market, sym, tf.name, start=start, bars=bars, days=days)
            except AppError as exc:
                errors[sym] = exc
        return out
    now = market.clock.now_ts()
    widen = start is None and bars is not None
    if start is None:
        if bars is None:
            start = now - pd.Timedelta(days=days)
        else:
            span = tf.duration * bars * (1.0 if tf.is_daily else 1.05)
            span = (span * 7 / 5 + pd.Timedelta(days=10) if tf.is_daily
                    else span + pd.Timedelta(hours=18))
            start = now - span
    got = many(symbols, tf.name, start, errors=errors)
    short = []
    for sym, arr in got.items():
        b = Bars(sym, tf.name, arr.ts, arr.ohlcv())
        if widen and len(b) < bars:  # type: ignore[operator]
            short.append(sym)
        out[sym] = b.tail(bars) if bars else b
    for sym in short:  # nights, weekends and holidays: widen the window for these alone
        try:
            out[sym] = load_bars(market, sym, tf.name, bars=bars, days=days)
        except AppError as exc:
            errors[sym] = exc
            out.pop(sym, None)
    return out


def clock_now(market: Any) -> datetime:
    """Return the market clock's now (UTC)."""
    return market.clock.now()
