"""How much one request may ask of the market: the widest range per timeframe and the
earliest time, and the check that turns a request's ``start``/``end`` into a clear
400 instead of a read (or, before there was one owner of the market, a generation) of years.
"""
from __future__ import annotations

import time
from datetime import timedelta
from typing import Any

import pandas as pd

from shared.errors import NotFound, ValidationError
from shared.market.calendar import to_utc
from shared.market.symbols import normalize_symbol
from shared.market.timeframes import parse_timeframe

#: The widest span one read may cover, by timeframe (about 20,000-40,000 bars a symbol).
MAX_SPAN_DAYS = {"1m": 62, "5m": 190, "15m": 370, "1h": 1100, "1d": 36600}
#: No stored bar is older than this (the exchange calendar starts in 1990; CSV history
#: such as the bundled GOOG daily starts in 2004).
EARLIEST = pd.Timestamp("1990-01-01", tz="UTC")


def max_span(timeframe: str) -> timedelta:
    """Return the widest ``end - start`` one read of ``timeframe`` bars may cover."""
    return timedelta(days=MAX_SPAN_DAYS[parse_timeframe(timeframe).name])


def _time(value: object, name: str) -> pd.Timestamp:
    try:
        ts = to_utc(value)
    except (ValueError, TypeError, OverflowError, ValidationError):
        raise ValidationError(f"{name} is not a time: {str(value)[:40]!r}; use ISO-8601 "
                              "such as 2024-03-05T14:30:00Z", field=name) from None
    if pd.isna(ts):
        raise ValidationError(f"{name} is not a time: {str(value)[:40]!r}", field=name)
    return ts


def check_range(timeframe: str, start: object = None, end: object = None, *,
                now: pd.Timestamp | None = None) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Return ``start``/``end`` parsed, after checking them against the allowed range.

    Raises:
        ValidationError: an unknown timeframe, an unparsable time, a start before 1990, a
            start after the end, or a span wider than the timeframe allows (the message
            names the field and the allowed values).
    """
    tf = parse_timeframe(timeframe)
    s = None if start in (None, "") else _time(start, "start")
    e = None if end in (None, "") else _time(end, "end")
    for ts, name in ((s, "start"), (e, "end")):
        if ts is not None and ts < EARLIEST:
            raise ValidationError(f"{name} {ts.isoformat()} is before the earliest bar the "
                                  f"market can have ({EARLIEST.date()})", field=name,
                                  details={"min": EARLIEST.isoformat()})
    upper = e if e is not None else now  # "now" is the market clock's: the caller's to give
    if s is not None and upper is not None:
        if s > upper:
            raise ValidationError(f"start {s.isoformat()} is after end {upper.isoformat()}",
                                  field="start")
        if upper - s > max_span(tf.name):
            raise ValidationError(
                f"a {tf.name} read spans at most {MAX_SPAN_DAYS[tf.name]} days; start "
                f"{s.isoformat()} is {(upper - s).days} days before end {upper.isoformat()}",
                field="start", details={"timeframe": tf.name,
                                        "max_days": MAX_SPAN_DAYS[tf.name]})
    return s, e


#: The most symbols one query string may name (``symbols=A,B,...``); bodies carry their own
#: ``max_length`` per route (up to the largest universe, 5,000).
MAX_SYMBOLS_PER_REQUEST = 1000


def symbol_list(text: str | None, field: str = "symbols") -> list[str]:
    """Return the comma-separated symbols of ``text``, each upper-cased and checked against
    the symbol grammar (``normalize_symbol``), duplicates dropped; [] for none.

    Raises:
        ValidationError: naming ``field``: a symbol outside the grammar, or more than
            ``MAX_SYMBOLS_PER_REQUEST``.
    """
    raw = [s.strip() for s in (text or "").split(",") if s.strip()]
    if len(raw) > MAX_SYMBOLS_PER_REQUEST:
        raise ValidationError(f"{field} names {len(raw)} symbols; at most "
                              f"{MAX_SYMBOLS_PER_REQUEST} per request", field=field,
                              details={"max": MAX_SYMBOLS_PER_REQUEST})
    out: dict[str, None] = {}
    for sym in raw:
        try:
            out[normalize_symbol(sym)] = None
        except ValidationError as exc:
            raise ValidationError(f"{field}: {exc.message}; a symbol is a ticker such as AAPL "
                                  "or BRK.B or a crypto pair such as BTC/USD",
                                  field=field) from None
    return list(out)


_known: dict[str, tuple[float, frozenset[str]]] = {}


def unknown_symbol(sym: str) -> NotFound:
    return NotFound(f"unknown symbol {sym}: it is not in the market's universe",
                    field="symbol", details={"symbol": sym})


def is_known(db: Any, sym: str) -> bool:
    """Return whether ``sym`` is in the market: a row of the owner's ``symbols`` table, read
    again (at most every 5 s) when a symbol is not among those last read."""
    key = str(db.path)
    at, known = _known.get(key, (0.0, frozenset()))
    if sym not in known and time.monotonic() - at > 5.0:
        known = frozenset(r[0] for r in db.fetch_all("SELECT symbol FROM symbols"))
        _known[key] = (time.monotonic(), known)
    return sym in known


def require_symbols(db: Any, symbols: list[str]) -> list[str]:
    """Return ``symbols`` after checking each is in the market (``is_known``).

    Raises:
        NotFound: naming the first symbol the market does not have.
    """
    for sym in symbols:
        if not is_known(db, sym):
            raise unknown_symbol(sym)
    return symbols


__all__ = ["EARLIEST", "MAX_SPAN_DAYS", "MAX_SYMBOLS_PER_REQUEST", "check_range", "is_known",
           "max_span", "require_symbols", "symbol_list", "unknown_symbol"]
