"""Tiingo: end-of-day prices and IEX intraday bars (``TIINGO_API_KEY``).

Plain ``requests`` against ``TIINGO_BASE_URL``: the ``tiingo`` client writes
``https://api.tiingo.com`` into its constructor (no parameter), so it cannot be pointed at a
proxy or a test fake.  The key goes in Tiingo's ``Authorization: Token <key>`` header.

``/tiingo/daily/{t}/prices`` answers ``[{"date": "2024-03-05T00:00:00.000Z", "open",
"high", "low", "close", "volume", "adjClose", ..., "divCash", "splitFactor"}]`` (the date is
the session's; unadjusted prices are used, as every provider here); ``/iex/{t}/prices``
answers ``[{"date", "open", "high", "low", "close", "volume"}]`` with ISO times carrying
their offset, each the bar's start.  Errors are ``{"detail": "..."}``; an unknown ticker is
a 404.  Free tier: 50 requests an hour (and 1,000 a day).
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shared.market.calendar import NEW_YORK, MarketCalendar
from shared.market.sources._base import SourceBase, iso_ns, ny_dates_ns
from shared.market.sources.http import HttpOptions, HttpSource, RateBudget

BASE_URL = "https://api.tiingo.com"
LIMIT, PERIOD_S = 50, 3600
DAILY = ((1000, 86_400),)
_FREQ = {"1m": "1min", "5m": "5min", "15m": "15min"}


class TiingoProvider(SourceBase):
    """US equities and ETFs: daily bars from Tiingo's EOD API, intraday from its IEX feed."""

    name = "tiingo"
    asset_classes = frozenset({"equity", "etf"})

    def __init__(self, calendar: MarketCalendar, *, api_key: str, base_url: str = BASE_URL,
                 options: HttpOptions | None = None) -> None:
        super().__init__(HttpSource(self.name, base_url, RateBudget(self.name, LIMIT, PERIOD_S, also=DAILY),
                                    options, headers={"Authorization": f"Token {api_key}"}),
                         calendar)

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object
                   ) -> pd.DataFrame:
        """Return bars opening in ``[start, end)`` (Tiingo is asked for whole New York days).

        Raises:
            NotFound: Tiingo does not know the ticker.
            ValidationError: bad arguments (or a 400 from Tiingo).
            AuthError, RateLimited, UpstreamUnavailable: see ``HttpSource.get_json``.
        """
        req = self.request(symbol, timeframe, start, end)
        if req.start >= req.end:
            return self.empty(req)
        first = req.start.tz_convert(NEW_YORK).date().isoformat()
        last = (req.end - pd.Timedelta(1, "ns")).tz_convert(NEW_YORK).date().isoformat()
        ticker = req.symbol.lower().replace(".", "-")
        if req.tf.is_daily:
            rows = self.http.get_json(f"/tiingo/daily/{ticker}/prices", {
                "startDate": first, "endDate": last, "resampleFreq": "daily"})
        else:
            rows = self.http.get_json(f"/iex/{ticker}/prices", {
                "startDate": first, "endDate": last, "resampleFreq": _FREQ[req.ask.name],
                "afterHours": "false", "forceFill": "false",
                "columns": "open,high,low,close,volume"})
        if not isinstance(rows, list) or not rows:
            return self.empty(req)
        dates = [r["date"] for r in rows]
        ts = ny_dates_ns(dates) if req.tf.is_daily else iso_ns(dates)
        cols: dict[str, Any] = {k: [r.get(k) for r in rows]
                                for k in ("open", "high", "low", "close", "volume")}
        return self.frame(req, ts, cols)
