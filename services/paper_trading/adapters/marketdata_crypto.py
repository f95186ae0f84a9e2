"""Alpaca's crypto order books, synthesized like the rest of the tape (``marketdata_ticks``).

The book at ``now`` is built around the last print of the last closed one-minute bar that
traded (the latest trade, whose quote is the book's top): ``LEVELS`` levels a side, level k
(0 first) at the print's price -/+ (k + 1) half-spreads, each of (k + 1) times the print's
size (in coins, fractional).  Prices stay integer micro-units until they are written out.
"""
from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from services.paper_trading.adapters.marketdata_bars import iso_z, price
from services.paper_trading.adapters.marketdata_ticks import half_spread, last_print, size
from shared.db import Database

LEVELS = 5


def book_json(p: tuple[int, int, int, Any]) -> dict[str, Any]:
    """Return Alpaca's orderbook object (``t``, bids ``b`` high to low, asks ``a`` low to high)."""
    _tid, ts, px, s = p
    half, qty = half_spread(px), Decimal(s)
    return {"t": iso_z(ts),
            "b": [{"p": price(px - (k + 1) * half), "s": size(qty * (k + 1))}
                  for k in range(LEVELS)],
            "a": [{"p": price(px + (k + 1) * half), "s": size(qty * (k + 1))}
                  for k in range(LEVELS)]}


def orderbooks(db: Database, now: datetime, symbols: list[str]) -> dict[str, Any]:
    """Return Alpaca's ``{"orderbooks": {PAIR: book}}`` at ``now`` (a pair that never traded
    is left out)."""
    out: dict[str, Any] = {}
    for sym in symbols:
        p = last_print(db, sym, now)
        if p is not None:
            out[sym] = book_json(p)
    return {"orderbooks": out}


__all__ = ["LEVELS", "book_json", "orderbooks"]
