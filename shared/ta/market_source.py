"""The service's view of market data: visible bars as ``BarArrays``, read through a ``BarReader``.

``shared.market.DataManager`` is the reader in production (it only returns bars the market
clock has made visible); the use cases and tests can run on any other ``BarReader``.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shared.errors import AppError
from shared.market.depth import history_start, within_history
from shared.market.frames import BarArrays
from shared.market.reader import BarReader
from shared.market.timeframes import parse_timeframe


def _span(timeframe: str, bars: int) -> pd.Timedelta:
    """Return a look-back holding ``bars`` bars of ``timeframe`` across closed hours."""
    tf = parse_timeframe(timeframe)
    span = tf.duration * bars * (1.0 if tf.is_daily else 1.05)
    if tf.is_daily:
        return span * 7 / 5 + pd.Timedelta(days=10)
    # Sessions are 6.5 h of 24: allow one overnight gap up front, so a session's worth of
    # bars read at the next open takes one read, not two.
    return span + pd.Timedelta(hours=18)


def load_bars(market: BarReader, symbol: str, timeframe: str, *, start: object = None,
              end: object = None, bars: int | None = None, days: int = 5) -> BarArrays:
    """Return the visible bars of ``symbol``: in ``[start, end)``, or the last ``bars`` of them.

    Without ``start`` it reads back ``bars`` bar-lengths (widening until enough are found, as
    nights, weekends and holidays have none) or ``days`` calendar days, never past the
    history the market owner keeps (``shared.market.depth``: older bars are there or not
    depending on timing).

    Raises:
        ValidationError: bad symbol, timeframe or range (from the reader).
        ServiceUnavailable: no provider could serve the bars.
    """
    tf = parse_timeframe(timeframe)
    if start is not None or bars is None:
        if start is None:
            now = market.clock.now_ts()
            start = within_history(market, tf.name, now - pd.Timedelta(days=days), now)
        out = market.get_bars(symbol, tf.name, start, end)
        return out.tail(bars) if bars else out
    now = pd.Timestamp(end) if end is not None else market.clock.now_ts()
    floor = history_start(market, tf.name, now)
    span = _span(tf.name, bars)
    got = None
    for _ in range(6):
        s = now - span if floor is None else max(now - span, floor)
        got = market.get_bars(symbol, tf.name, s, end)
        if len(got) >= bars or s == floor:
            return got.tail(bars)
        span *= 4
    assert got is not None
    return got


def load_bars_many(market: BarReader, symbols: list[str], timeframe: str,
                   errors: dict[str, Any], *, start: object = None, bars: int | None = None,
                   days: int = 5) -> dict[str, BarArrays]:
    """Return ``load_bars`` for many symbols, read in one batch.

    Symbols that fail go to ``errors`` (by the name given); those with fewer than ``bars``
    bars in the first window are read again one by one, widening as ``load_bars`` does.
    """
    tf = parse_timeframe(timeframe)
    out: dict[str, BarArrays] = {}
    if not symbols:
        return out
    now = market.clock.now_ts()
    widen = start is None and bars is not None
    if start is None:
        wanted = now - (pd.Timedelta(days=days) if bars is None else _span(tf.name, bars))
        start = within_history(market, tf.name, wanted, now)
        widen = widen and start == wanted  # at the owner's floor there is nothing older
    got = market.get_bars_many(symbols, tf.name, start, errors=errors)
    short = []
    for sym, b in got.items():
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
