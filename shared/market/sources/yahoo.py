"""Yahoo Finance: bars from the v8 chart API, fundamentals from quoteSummary (no key).

Plain ``requests`` against ``YAHOO_BASE_URL``, not yfinance: yfinance scrapes through
curl_cffi with Yahoo's hosts written into the library (it cannot be pointed at a proxy or a
test fake), and it hides Yahoo's error answers behind its own.  The chart API answers
``{"chart": {"result": [{"meta", "timestamp": [epoch s], "indicators": {"quote": [{open,
high, low, close, volume}]}}], "error": null}}``; an unknown symbol is a 404 with
``chart.error.code == "Not Found"``.  quoteSummary's values are ``{"raw": n, "fmt": text}``.
Yahoo asks browsers for a cookie and "crumb" on quoteSummary; a base URL that adds them (a
proxy) works, fetching them is not done here.  Yahoo documents no rate limit: the budget is
the commonly quoted 2,000 calls an hour.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shared.errors import AppError, NotFound, ValidationError
from shared.market.calendar import NEW_YORK, MarketCalendar
from shared.market.sources._base import (
    SourceBase,
    dec,
    epoch_ns,
    fundamentals,
    iso_date,
    ny_dates_ns,
    text,
    whole,
)
from shared.market.sources.http import HttpOptions, HttpSource, RateBudget

BASE_URL = "https://query1.finance.yahoo.com"
LIMIT, PERIOD_S = 2000, 3600
_INTERVAL = {"1m": "1m", "5m": "5m", "15m": "15m", "1h": "60m", "1d": "1d"}
BROWSER_UA = "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko)"
_MODULES = "price,summaryDetail,defaultKeyStatistics,assetProfile,calendarEvents"


def yahoo_symbol(symbol: str) -> str:
    """Return Yahoo's ticker: 'BTC/USD' -> 'BTC-USD', 'BRK.B' -> 'BRK-B'."""
    return symbol.replace("/", "-").replace(".", "-")


def _error_of(status: int, body: Any) -> AppError | None:
    if not isinstance(body, dict):
        return None
    part = body.get("chart") or body.get("quoteSummary") or body.get("finance") or {}
    err = part.get("error") if isinstance(part, dict) else None
    if not err:
        return None
    code = str(err.get("code", ""))
    desc = str(err.get("description", ""))[:200]
    if code == "Not Found" or status == 404:
        return NotFound(f"yahoo: {desc or 'symbol not found'}", field="symbol",
                        details={"provider": "yahoo"})
    if code in ("Unprocessable Entity", "Bad Request") or status in (400, 422):
        return ValidationError(f"yahoo: {desc}", field="timeframe",
                               details={"provider": "yahoo"})
    return None  # the HTTP status decides (429, 5xx)


class YahooProvider(SourceBase):
    """Daily and intraday history of US equities, ETFs and crypto pairs from Yahoo."""

    name = "yahoo"
    asset_classes = frozenset({"equity", "etf", "crypto"})

    def __init__(self, calendar: MarketCalendar, *, base_url: str = BASE_URL,
                 options: HttpOptions | None = None) -> None:
        # Yahoo's edge answers 429 to clients that do not name a browser
        super().__init__(HttpSource(self.name, base_url, RateBudget(self.name, LIMIT, PERIOD_S),
                                    options, error_of=_error_of,
                                    headers={"User-Agent": BROWSER_UA}), calendar)

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object
                   ) -> pd.DataFrame:
        """Return bars with open time in ``[start, end)`` (see the package docstring).

        Raises:
            NotFound: Yahoo does not know the symbol.
            ValidationError: bad arguments (or a range Yahoo refuses for the interval).
            RateLimited, UpstreamUnavailable: see ``HttpSource.get_json``.
        """
        req = self.request(symbol, timeframe, start, end)
        if req.start >= req.end:
            return self.empty(req)
        body = self.http.get_json(f"/v8/finance/chart/{yahoo_symbol(req.symbol)}", {
            "period1": int(req.start.timestamp()), "period2": int(req.end.timestamp()),
            "interval": _INTERVAL[req.ask.name], "includePrePost": "false",
        })
        result = ((body.get("chart") or {}).get("result") or [None])[0] or {}
        stamps = result.get("timestamp") or []
        quote = ((result.get("indicators") or {}).get("quote") or [{}])[0] or {}
        if not stamps or not quote:
            return self.empty(req)
        if req.tf.is_daily and not req.crypto:
            # a daily bar is stamped at the session's open (or its last trade): its New York
            # date is the session
            days = pd.to_datetime(stamps, unit="s", utc=True).tz_convert(NEW_YORK)
            ts = ny_dates_ns(days.strftime("%Y-%m-%d"))
        else:
            ts = epoch_ns(stamps, "s")
        n = len(stamps)
        rows = {k: list(quote.get(k) or [None] * n) for k in
                ("open", "high", "low", "close", "volume")}
        return self.frame(req, ts, rows)

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """Return the normalised fundamentals (see ``_base.FUNDAMENTAL_KEYS``).

        Raises:
            NotFound: Yahoo does not know the symbol.
            RateLimited, UpstreamUnavailable, AuthError: see ``HttpSource.get_json``.
        """
        sym = self.checked_symbol(symbol)
        body = self.http.get_json(f"/v10/finance/quoteSummary/{yahoo_symbol(sym)}",
                                  {"modules": _MODULES}, decimals=True)
        res = ((body.get("quoteSummary") or {}).get("result") or [None])[0]
        if not res:
            raise NotFound(f"yahoo has no summary of {sym}", field="symbol")
        price = res.get("price") or {}
        detail = res.get("summaryDetail") or {}
        stats = res.get("defaultKeyStatistics") or {}
        profile = res.get("assetProfile") or {}
        earnings = ((res.get("calendarEvents") or {}).get("earnings") or {})
        dates = earnings.get("earningsDate") or []
        return fundamentals(
            sym, self.name, name=text(price.get("longName") or price.get("shortName")),
            exchange=text(price.get("exchangeName") or price.get("exchange")),
            currency=text(price.get("currency")), sector=text(profile.get("sector")),
            industry=text(profile.get("industry")),
            market_cap=dec(detail.get("marketCap") or price.get("marketCap")),
            shares_outstanding=whole(stats.get("sharesOutstanding")),
            float_shares=whole(stats.get("floatShares")),
            pe_ratio=dec(detail.get("trailingPE")), eps=dec(stats.get("trailingEps")),
            dividend_yield=dec(detail.get("dividendYield")),
            beta=dec(detail.get("beta") or stats.get("beta")),
            next_earnings_date=iso_date(dates[0]) if dates else None,
            last_earnings_date=None)
