"""Trades and quotes (historical, latest) and snapshots, synthesized from one-minute bars.

The built-in market stores bars only, so its tape is a deterministic function of each closed
one-minute bar (open time ``t``, prices o/h/l/c in micro-units, volume ``v``):

- **Trades.**  Four prints: ``o`` at t+0s, the bar's two extremes at t+20s and t+40s, ``c`` at
  t+59s.  The extremes come in the order the bar most plausibly took them: the low first when
  ``c >= o`` (o, l, h, c), the high first otherwise (o, h, l, c).  The volume is split v//4,
  v//4, v//4 and the rest, so the sizes sum to ``v``; a bar with 0 < v < 4 prints one trade of
  ``v`` at ``c`` at t+59s and a bar with no volume prints nothing.  A trade's id is its minute
  (``t`` in epoch minutes) * 4 + its place 0-3 (the lone print of a small bar is place 3), so
  ids grow with time.  Exchange ``V`` (IEX), condition ``@``, the tape of the listing exchange
  (A NYSE, B ARCA and others, C NASDAQ).
- **Quotes.**  One quote at every trade's instant, straddling its price by a half-spread of
  max($0.01, 1 bp of the price rounded to $0.0001): bid = p - half, ask = p + half, exact in
  micro-units; each side's size is in round lots, max(1, size // 100).  Exchange ``V``,
  condition ``R``.
- **Crypto pairs** (fractional sizes): a bar that traded always prints the same four points,
  each of a quarter of its volume (exact: ``Decimal(v) / 4``), and a quote's sizes are the
  print's size; the crypto routes write Alpaca's crypto objects (no exchange, conditions or
  tape).
- **Latest** trade and quote are the last of the last closed one-minute bar that traded (the
  one at t+59s: the bar's close), so they agree with the historical ones.
- **Snapshot**: that latest trade and quote, the last closed minute bar, the daily bar (the
  running session's minute bars so far, or the last closed session) and the previous session's.

No look-ahead: only bars closed by the market clock's ``now`` make prints (a bar's path depends
on its close), and a request's ``end`` is capped at ``now``.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from services.paper_trading.adapters.asset_catalog import exchange_of, tape_of
from services.paper_trading.adapters.marketdata_bars import (
    MIN_NS,
    bar_json,
    daily_bars,
    iso_z,
    latest_bar_row,
    make_token,
    price,
    read_bars,
    read_token,
    window,
)
from shared.db import Database
from shared.market.calendar import MarketCalendar

_SEC_NS = 1_000_000_000
OFFSETS_S = (0, 20, 40, 59)
MIN_HALF_SPREAD = 10_000  # $0.01 in micro-units


def bar_prints(ts_ns: int, o: int, h: int, lo: int, c: int, v: int, fractional: bool = False
               ) -> list[tuple[int, int, int, Any]]:
    """Return one bar's trades as (id, time ns, price micros, size), in time order (sizes
    ``Decimal`` quarters of the volume when ``fractional``: a crypto pair's)."""
    v = int(v)
    minute = int(ts_ns) // MIN_NS
    if v <= 0:
        return []
    if fractional:
        q = Decimal(v) / 4
        path = (o, lo, h, c) if c >= o else (o, h, lo, c)
        return [(minute * 4 + k, int(ts_ns) + OFFSETS_S[k] * _SEC_NS, int(path[k]), q)
                for k in range(4)]
    if v < 4:
        return [(minute * 4 + 3, int(ts_ns) + OFFSETS_S[3] * _SEC_NS, int(c), v)]
    path = (o, lo, h, c) if c >= o else (o, h, lo, c)
    part = v // 4
    sizes = (part, part, part, v - 3 * part)
    return [(minute * 4 + k, int(ts_ns) + OFFSETS_S[k] * _SEC_NS, int(path[k]), sizes[k])
            for k in range(4)]


def half_spread(p_micros: int) -> int:
    """Return the quote's half-spread in micros: max($0.01, 1 bp of ``p`` to $0.0001)."""
    return max(MIN_HALF_SPREAD, (int(p_micros) + 500_000) // 1_000_000 * 100)


def size(s: Any) -> int | float:
    """Return a print's size as Alpaca's JSON number (a crypto quarter is exact in binary)."""
    return float(s) if isinstance(s, Decimal) else int(s)


def trade_json(t: tuple[int, int, int, Any], tape: str, crypto: bool = False
               ) -> dict[str, Any]:
    tid, ts, p, s = t
    if crypto:  # Alpaca's crypto trade: no exchange, conditions or tape
        return {"t": iso_z(ts), "p": price(p), "s": size(s), "i": tid}
    return {"t": iso_z(ts), "x": "V", "p": price(p), "s": size(s), "c": ["@"], "i": tid,
            "z": tape}


def quote_json(t: tuple[int, int, int, Any], tape: str, crypto: bool = False
               ) -> dict[str, Any]:
    _tid, ts, p, s = t
    half = half_spread(p)
    if crypto:  # sizes in coins (fractional), no exchanges
        return {"t": iso_z(ts), "bp": price(p - half), "bs": size(s), "ap": price(p + half),
                "as": size(s)}
    lots = max(1, int(s) // 100)
    return {"t": iso_z(ts), "ax": "V", "ap": price(p + half), "as": lots, "bx": "V",
            "bp": price(p - half), "bs": lots, "c": ["R"], "z": tape}


def _prints(df: pd.DataFrame, desc: bool = False, fractional: bool = False
            ) -> list[tuple[int, int, int, Any]]:
    """Return the prints of ``df``'s bars in the frame's order (each bar's newest first when
    ``desc``: the frame is then newest first too)."""
    out: list[tuple[int, int, int, Any]] = []
    for ts, r in zip(df.index, df.itertuples(), strict=True):
        prints = bar_prints(ts, r.o, r.h, r.l, r.c, r.v, fractional)
        out.extend(reversed(prints) if desc else prints)
    return out


def _symbol_page(db: Database, sym: str, lo: int, hi: int, bar_cap: int, cursor: int | None,
                 desc: bool, want: int) -> tuple[list[tuple[int, int, int, int]], bool]:
    """Return up to ``want`` prints of ``sym`` in ``[lo, hi]`` from bars opening by ``bar_cap``
    after ``cursor`` (an id), and whether more follow.  Reads the bars in chunks, never the
    whole range at once."""
    # a print is at most 59 s after its bar opens
    bar_lo, bar_hi = lo - 59 * _SEC_NS, min(hi, bar_cap)
    if cursor is not None:
        if desc:
            bar_hi = min(bar_hi, cursor // 4 * MIN_NS)
        else:
            bar_lo = max(bar_lo, cursor // 4 * MIN_NS)
    got: list[tuple[int, int, int, int]] = []
    chunk = want + 1
    while True:
        df = read_bars(db, sym, "1m", bar_lo, bar_hi, desc=desc, limit=chunk)
        for p in _prints(df, desc, "/" in sym):
            if not lo <= p[1] <= hi:
                continue
            if cursor is not None and (p[0] >= cursor if desc else p[0] <= cursor):
                continue
            got.append(p)
            if len(got) > want:
                return got[:want], True
        if len(df) < chunk:
            return got, False
        last = int(df.index[-1])
        # bars open on whole seconds: one second past the last bar read is the next chunk
        bar_lo, bar_hi = (bar_lo, last - _SEC_NS) if desc else (last + _SEC_NS, bar_hi)


def ticks(db: Database, now: datetime, symbols: list[str], kind: str, start: str | None,
          end: str | None, limit: int, page_token: str | None, sort: str = "asc",
          crypto: bool = False) -> dict[str, Any]:
    """Return one page of Alpaca's ``{"trades"|"quotes": {SYM: [...]}, "next_page_token"}``.

    Raises:
        ValidationError: a bad time, range or page token (400).
    """
    lo, hi = window(start, end, now, "1m")
    bar_cap = pd.Timestamp(now).value - MIN_NS  # the last bar closed by now opens by then
    syms = sorted(set(symbols))
    first, cursor = read_token(page_token, syms)
    make = trade_json if kind == "trades" else quote_json
    out: dict[str, list[dict[str, Any]]] = {}
    remaining, token = limit, None
    for i in range(first, len(syms)):
        sym = syms[i]
        page, more = _symbol_page(db, sym, lo, hi, bar_cap, cursor if i == first else None,
                                  sort == "desc", remaining)
        if page:
            tape = tape_of(exchange_of(sym, db))
            out[sym] = [make(p, tape, crypto) for p in page]
        remaining -= len(page)
        if remaining <= 0:
            if more:
                token = make_token(sym, page[-1][0])
            elif i + 1 < len(syms):
                token = make_token(syms[i + 1], None)
            break
    return {kind: out, "next_page_token": token}


def last_print(db: Database, sym: str, now: datetime) -> tuple[int, int, int, Any] | None:
    df = read_bars(db, sym, "1m", 0, pd.Timestamp(now).value - MIN_NS, desc=True, limit=1,
                   traded_only=True)
    prints = _prints(df, False, "/" in sym)
    return prints[-1] if prints else None


def latest(db: Database, now: datetime, symbols: list[str], kind: str, crypto: bool = False
           ) -> dict[str, Any]:
    """Return Alpaca's ``{"trades"|"quotes": {SYM: ...}}``: the last print of the model."""
    make = trade_json if kind == "trades" else quote_json
    out: dict[str, Any] = {}
    for sym in symbols:
        p = last_print(db, sym, now)
        if p is not None:
            out[sym] = make(p, tape_of(exchange_of(sym, db)), crypto)
    return {kind: out}


def snapshots(db: Database, cal: MarketCalendar, now: datetime, symbols: list[str],
              crypto: bool = False) -> dict[str, Any]:
    """Return Alpaca's snapshots ``{SYM: {latestTrade, latestQuote, minuteBar, dailyBar,
    prevDailyBar}}`` as seen at ``now`` (a symbol with no data at all is left out)."""
    out: dict[str, Any] = {}
    for sym in symbols:
        tape = tape_of(exchange_of(sym, db))
        p = last_print(db, sym, now)
        minute = latest_bar_row(db, sym, now)
        minute_ts = int(minute.index[0]) if len(minute) else None
        daily, prev = daily_bars(db, cal, sym, now, minute_ts)
        snap = {"latestTrade": None if p is None else trade_json(p, tape, crypto),
                "latestQuote": None if p is None else quote_json(p, tape, crypto),
                "minuteBar": None if minute_ts is None else bar_json(
                    minute_ts, next(minute.itertuples())),
                "dailyBar": daily, "prevDailyBar": prev}
        if any(v is not None for v in snap.values()):
            out[sym] = snap
    return out


__all__ = ["bar_prints", "half_spread", "last_print", "latest", "quote_json", "size",
           "snapshots", "ticks", "trade_json"]
