"""Polygon.io (now Massive): aggregate bars and ticker details (``POLYGON_API_KEY``).

Plain ``requests`` against ``POLYGON_BASE_URL``: the official client (``massive``, formerly
polygon-api-client) takes another base URL, but raises one ``BadResponse`` holding only the
body's text for every non-200 answer (a 429, a 404 and a 502 cannot be told apart) and
retries inside urllib3 on its own schedule; each call here is one GET, so plain HTTP keeps
the error mapping and the bounded retries.  The key goes in an ``Authorization: Bearer``
header (Polygon accepts it there), not in URLs that end up in logs.

``/v2/aggs/ticker/{t}/range/{m}/{span}/{from}/{to}`` answers ``{"ticker", "queryCount",
"resultsCount", "adjusted", "results": [{"o", "h", "l", "c", "v", "vw", "n", "t"}],
"status": "OK", "request_id", "next_url"?}``; ``t`` is the bar's start in epoch ms (a daily
equity bar's is 00:00 New York), ``results`` is left out when empty, and an unknown ticker
is just empty.  Errors are ``{"status": "ERROR"|"NOT_FOUND"|"NOT_AUTHORIZED", "error" or
"message": ...}``.  Free tier: 5 calls a minute.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import pandas as pd

from shared.errors import NotFound
from shared.market.calendar import NEW_YORK, MarketCalendar
from shared.market.sources._base import (
    SourceBase,
    dec,
    epoch_ns,
    fundamentals,
    ny_dates_ns,
    text,
    whole,
)
from shared.market.sources.http import HttpOptions, HttpSource, RateBudget

BASE_URL = "https://api.polygon.io"
LIMIT, PERIOD_S = 5, 60
MAX_PAGES = 10
_SPAN = {"1m": (1, "minute"), "5m": (5, "minute"), "15m": (15, "minute"), "1h": (1, "hour"),
         "1d": (1, "day")}


def polygon_ticker(symbol: str) -> str:
    """Return Polygon's ticker: crypto pairs are ``X:BTCUSD``, equities as they are."""
    return "X:" + symbol.replace("/", "") if "/" in symbol else symbol


class PolygonProvider(SourceBase):
    """US equities, ETFs and crypto pairs from Polygon's aggregates; ticker details."""

    name = "polygon"
    asset_classes = frozenset({"equity", "etf", "crypto"})

    def __init__(self, calendar: MarketCalendar, *, api_key: str, base_url: str = BASE_URL,
                 options: HttpOptions | None = None) -> None:
        super().__init__(HttpSource(self.name, base_url, RateBudget(self.name, LIMIT, PERIOD_S),
                                    options, headers={"Authorization": f"Bearer {api_key}"}),
                         calendar)

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object
                   ) -> pd.DataFrame:
        """Return bars opening in ``[start, end)``, following ``next_url`` pages.

        Raises:
            ValidationError: bad arguments (or a 400 from Polygon).
            AuthError: a missing key or data the plan does not include (401/403).
            RateLimited, UpstreamUnavailable: see ``HttpSource.get_json``.
        """
        req = self.request(symbol, timeframe, start, end)
        if req.start >= req.end:
            return self.empty(req)
        mult, span = _SPAN[req.ask.name]
        lo, hi = req.start.value // 1_000_000, req.end.value // 1_000_000 - 1
        path = f"/v2/aggs/ticker/{polygon_ticker(req.symbol)}/range/{mult}/{span}/{lo}/{hi}"
        params: dict[str, Any] | None = {"adjusted": "true", "sort": "asc", "limit": 50000}
        bars: list[dict[str, Any]] = []
        for _ in range(MAX_PAGES):
            body = self.http.get_json(path, params)
            bars.extend(body.get("results") or [])
            nxt = body.get("next_url")
            if not nxt:
                break
            # the cursor's URL names Polygon's host: keep its path and query on our base URL
            parts = urlsplit(nxt)
            path, params = parts.path + ("?" + parts.query if parts.query else ""), None
        if not bars:
            return self.empty(req)
        stamps = [b["t"] for b in bars]
        if req.tf.is_daily and not req.crypto:
            days = pd.to_datetime(stamps, unit="ms", utc=True).tz_convert(NEW_YORK)
            ts = ny_dates_ns(days.strftime("%Y-%m-%d"))
        else:
            ts = epoch_ns(stamps, "ms")
        rows = {k: [b.get(s) for b in bars] for k, s in
                (("open", "o"), ("high", "h"), ("low", "l"), ("close", "c"), ("volume", "v"),
                 ("vwap", "vw"))}
        rows["trade_count"] = [b.get("n") for b in bars]
        return self.frame(req, ts, rows)

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """Return what Polygon's ticker details have of the fundamentals (no sector, P/E,
        EPS, yield, beta or earnings dates there: None).

        Raises:
            NotFound: Polygon does not know the ticker.
            AuthError, RateLimited, UpstreamUnavailable: see ``HttpSource.get_json``.
        """
        sym = self.checked_symbol(symbol)
        body = self.http.get_json(f"/v3/reference/tickers/{polygon_ticker(sym)}",
                                  decimals=True)
        res = body.get("results") or {}
        if not res:
            raise NotFound(f"polygon has no details of {sym}", field="symbol")
        currency = text(res.get("currency_name"))
        return fundamentals(
            sym, self.name, name=text(res.get("name")),
            exchange=text(res.get("primary_exchange")),
            currency=currency.upper() if currency else None,
            industry=text(res.get("sic_description")), market_cap=dec(res.get("market_cap")),
            shares_outstanding=whole(res.get("share_class_shares_outstanding")
                                     or res.get("weighted_shares_outstanding")))
