"""The asset reference data of the Alpaca routes: each symbol's listing exchange and the
``GET /v2/assets`` filters (status, asset_class, exchange, attributes).

Read-only over the owner's ``symbols`` table, whose ``exchange`` column holds the real listing
exchange of the real names (AAPL NASDAQ, JPM NYSE, SPY ARCA...; see ``shared.market.symbols``).
A symbol the table does not have falls back to that universe definition, then to NASDAQ.
"""
from __future__ import annotations

import time
from typing import Any

from shared.errors import UnprocessableError
from shared.market.symbols import REAL_SYMBOLS

#: Alpaca's AssetExchange values a stored exchange may be served as
EXCHANGES = ("AMEX", "ARCA", "ASCX", "BATS", "NYSE", "NASDAQ", "NYSEARCA", "FTXU", "CBSE",
             "GNSS", "ERSX", "OTC", "CRYPTO")
ASSET_CLASSES = {"us_equity": "equity", "crypto": "crypto", "us_option": None,
                 "crypto_perp": None}
STATUSES = ("active", "inactive")
_REAL = {t: ex for t, _n, _s, ex, _p, _v in REAL_SYMBOLS}
_cache: dict[str, tuple[float, dict[str, str]]] = {}
_TTL_S = 5.0


def listing_exchange(symbol: str, stored: str | None = None) -> str:
    """Return Alpaca's exchange for ``symbol``: CRYPTO for a pair, else the stored exchange
    (or the universe's) when Alpaca knows it, else NASDAQ."""
    if "/" in symbol:
        return "CRYPTO"
    ex = (stored or _REAL.get(symbol) or "NASDAQ").upper()
    return ex if ex in EXCHANGES else "NASDAQ"


def exchanges(db: Any) -> dict[str, str]:
    """Return every stored symbol's exchange (read again at most every 5 s)."""
    key = str(getattr(db, "path", id(db)))
    at, known = _cache.get(key, (0.0, {}))
    if time.monotonic() - at > _TTL_S:
        known = {r[0]: listing_exchange(r[0], r[1])
                 for r in db.fetch_all("SELECT symbol, exchange FROM symbols")}
        _cache[key] = (time.monotonic(), known)
    return known


def exchange_of(symbol: str, db: Any = None) -> str:
    """Return ``symbol``'s exchange from ``db``'s symbols (default: the running service's)."""
    if db is None:
        from flask import has_app_context

        from shared.web import current_service

        db = getattr(current_service(), "db", None) if has_app_context() else None
    if db is not None:
        try:
            found = exchanges(db).get(symbol)
        except Exception:  # noqa: BLE001 - no symbols table (a bare test database): the fallback
            found = None
        if found:
            return found
    return listing_exchange(symbol)


def tape_of(exchange: str) -> str:
    """Return the SIP tape of a listing exchange: A NYSE, B ARCA/AMEX/BATS/others, C NASDAQ."""
    return {"NYSE": "A", "NASDAQ": "C"}.get(exchange, "B")


def _choice(value: str | None, allowed: Any, name: str) -> str | None:
    if value in (None, ""):
        return None
    if value not in allowed:
        raise UnprocessableError(f"{name} must be one of {sorted(allowed)}, was {value[:40]!r}",
                                 field=name)
    return value


def asset_rows(db: Any, status: str | None = None, asset_class: str | None = None,
               exchange: str | None = None, attributes: str | None = None) -> list[Any]:
    """Return the ``symbols`` rows ``GET /v2/assets`` lists for these filters (by symbol).

    Every asset of the market is active and has no Alpaca attributes, so ``status=inactive``
    and any ``attributes`` filter list nothing; us_option and crypto_perp have no assets.

    Raises:
        UnprocessableError: a status, asset class or exchange Alpaca does not have (422).
    """
    _choice(status, STATUSES, "status")
    _choice(asset_class, ASSET_CLASSES, "asset_class")
    _choice(exchange, EXCHANGES, "exchange")
    if status == "inactive" or any(a.strip() for a in (attributes or "").split(",")):
        return []
    sql, params = "SELECT * FROM symbols", []
    if asset_class:
        if ASSET_CLASSES[asset_class] is None:
            return []
        sql += " WHERE asset_class = ?"
        params.append(ASSET_CLASSES[asset_class])
    rows = db.fetch_all(sql + " ORDER BY symbol", params)
    if exchange:
        rows = [r for r in rows if listing_exchange(r["symbol"], r["exchange"]) == exchange]
    return rows


__all__ = ["EXCHANGES", "asset_rows", "exchange_of", "exchanges", "listing_exchange", "tape_of"]
