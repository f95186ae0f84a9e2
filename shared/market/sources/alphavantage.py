"""Alpha Vantage: intraday and daily bars, company overview (``ALPHAVANTAGE_API_KEY``).

Plain ``requests`` against ``ALPHAVANTAGE_BASE_URL``: the ``alpha_vantage`` client keeps its
URL in a class constant and turns every error answer, a rate-limit note included, into the
same ``ValueError``; we need to tell "unknown symbol" from "come back later".

Alpha Vantage answers 200 to nearly everything: ``{"Error Message": ...}`` for an invalid
call (our arguments are checked first, so it means an unknown symbol), ``{"Note": ...}`` or
``{"Information": ...}`` when the rate limit is reached (``Information`` also says when an
option needs a premium plan).  Bars are ``{"Meta Data": {..., "6. Time Zone":
"US/Eastern"}, "Time Series (5min)": {"2024-03-05 09:30:00": {"1. open": "...", "2. high",
"3. low", "4. close", "5. volume"}}}``: naive New York times, each the bar's start.
Intraday history is asked month by month (``month=YYYY-MM``, regular hours only); daily bars
first as the free "compact" 100 days, then the whole history ("full", a premium option)
only when the range reaches further back.  Free tier: 25 requests a day.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shared.errors import AppError, AuthError, NotFound, RateLimited
from shared.market.calendar import NEW_YORK, MarketCalendar
from shared.market.sources._base import (
    SourceBase,
    dec,
    fundamentals,
    iso_date,
    ny_dates_ns,
    ny_local_ns,
    text,
    whole,
)
from shared.market.sources.http import HttpOptions, HttpSource, RateBudget

BASE_URL = "https://www.alphavantage.co"
LIMIT, PERIOD_S = 25, 86_400
MAX_MONTHS = 24
_INTERVAL = {"1m": "1min", "5m": "5min", "15m": "15min"}
_RATE_WORDS = ("rate limit", "call frequency", "requests per day", "calls per minute")


def _error_of(status: int, body: Any) -> AppError | None:
    if not isinstance(body, dict):
        return None
    details = {"provider": "alphavantage"}
    if body.get("Error Message"):
        return NotFound(f"alphavantage: {body['Error Message']}"[:300], field="symbol",
                        details=details)
    note = body.get("Note") or body.get("Information")
    if not note:
        return None
    low = str(note).lower()
    # both kinds of note link to the premium plans: the rate-limit ones name the limit
    if "premium" in low and not any(w in low for w in _RATE_WORDS):
        return AuthError(f"alphavantage: needs a premium plan: {note}"[:300], details=details)
    if note:
        return RateLimited(f"alphavantage: rate limited: {note}"[:300], details=details)
    return None


def _title(value: Any) -> str | None:
    """Alpha Vantage writes sectors and industries in capitals ('TECHNOLOGY')."""
    s = text(value)
    return s.title() if s and s.isupper() else s


class AlphaVantageProvider(SourceBase):
    """US equities and ETFs: intraday and daily bars, overview and earnings dates."""

    name = "alphavantage"
    asset_classes = frozenset({"equity", "etf"})

    def __init__(self, calendar: MarketCalendar, *, api_key: str, base_url: str = BASE_URL,
                 options: HttpOptions | None = None) -> None:
        super().__init__(HttpSource(self.name, base_url, RateBudget(self.name, LIMIT, PERIOD_S),
                                    options, error_of=_error_of), calendar)
        self._key = api_key

    def _query(self, function: str, **params: Any) -> dict[str, Any]:
        return self.http.get_json("/query", {"function": function, **params,
                                             "apikey": self._key}, decimals=True)

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object
                   ) -> pd.DataFrame:
        """Return bars opening in ``[start, end)``.

        Raises:
            NotFound: Alpha Vantage's "Error Message" (an unknown symbol).
            RateLimited: its "Note"/"Information" rate-limit answer, or our limiter.
            AuthError: the range needs the premium "full" daily history.
            ValidationError, UpstreamUnavailable: bad arguments; 5xx/timeouts.
        """
        req = self.request(symbol, timeframe, start, end)
        if req.start >= req.end:
            return self.empty(req)
        series: dict[str, dict[str, Any]] = {}
        if req.tf.is_daily:
            series = self._series(self._query("TIME_SERIES_DAILY", symbol=req.symbol,
                                              outputsize="compact"))
            oldest = min(series) if series else None
            if len(series) >= 100 and oldest and pd.Timestamp(oldest, tz=NEW_YORK) > req.start:
                series = self._series(self._query("TIME_SERIES_DAILY", symbol=req.symbol,
                                                  outputsize="full"))
        else:
            months = pd.period_range(req.start.tz_convert(NEW_YORK).tz_localize(None),
                                     (req.end - pd.Timedelta(1, "ns")).tz_convert(NEW_YORK)
                                     .tz_localize(None), freq="M")
            for month in list(months)[:MAX_MONTHS]:
                series.update(self._series(self._query(
                    "TIME_SERIES_INTRADAY", symbol=req.symbol, interval=_INTERVAL[req.ask.name],
                    month=str(month), outputsize="full", extended_hours="false",
                    adjusted="false")))
        if not series:
            return self.empty(req)
        stamps = sorted(series)
        ts = ny_dates_ns(stamps) if req.tf.is_daily else ny_local_ns(stamps)
        keep = [i for i, t in enumerate(ts) if t >= 0]
        rows = {k: [series[stamps[i]].get(f"{n}. {k}") for i in keep]
                for n, k in enumerate(("open", "high", "low", "close", "volume"), start=1)}
        return self.frame(req, [ts[i] for i in keep], rows)

    @staticmethod
    def _series(body: dict[str, Any]) -> dict[str, dict[str, Any]]:
        key = next((k for k in body if k.startswith("Time Series")), None)
        return dict(body.get(key) or {}) if key else {}

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """Return the normalised fundamentals from OVERVIEW and EARNINGS (two requests; the
        next earnings date is only in Alpha Vantage's CSV calendar: None).

        Raises:
            NotFound: Alpha Vantage knows no such company (an empty overview).
            RateLimited, UpstreamUnavailable: see ``fetch_bars``.
        """
        sym = self.checked_symbol(symbol)
        ov = self._query("OVERVIEW", symbol=sym)
        if not ov or not ov.get("Symbol"):
            raise NotFound(f"alphavantage has no overview of {sym}", field="symbol")
        quarters = self._query("EARNINGS", symbol=sym).get("quarterlyEarnings") or []
        reported = [d for d in (iso_date(q.get("reportedDate")) for q in quarters) if d]
        return fundamentals(
            sym, self.name, name=text(ov.get("Name")), exchange=text(ov.get("Exchange")),
            currency=text(ov.get("Currency")), sector=_title(ov.get("Sector")),
            industry=_title(ov.get("Industry")), market_cap=dec(ov.get("MarketCapitalization")),
            shares_outstanding=whole(ov.get("SharesOutstanding")),
            float_shares=whole(ov.get("SharesFloat")), pe_ratio=dec(ov.get("PERatio")),
            eps=dec(ov.get("EPS")), dividend_yield=dec(ov.get("DividendYield")),
            beta=dec(ov.get("Beta")), next_earnings_date=None,
            last_earnings_date=max(reported) if reported else None)
