"""Financial Modeling Prep: fundamentals first, daily and intraday bars too (``FMP_API_KEY``).

FMP's ``/stable`` API, not ``/api/v3``: FMP retired v3 ("Legacy Endpoint") for every key
issued after 2025-08-31, which then gets a 403 for ``/api/v3/profile/{t}`` and the rest;
the stable API has the same data with the symbol as a query parameter.  Plain ``requests``
against ``FMP_BASE_URL``: there is no redirectable client we would rather keep (fmpsdk brings
its own retries and models on top of the same GETs).

Fundamentals take four GETs: ``/stable/profile`` (``[{"companyName", "exchange",
"currency", "sector", "industry", "marketCap", "beta", ...}]``, empty for an unknown
symbol), ``/stable/ratios-ttm`` (``priceToEarningsRatioTTM``, ``dividendYieldTTM``,
``netIncomePerShareTTM``), ``/stable/shares-float`` (``floatShares``,
``outstandingShares``) and ``/stable/earnings`` (reported and expected dates, newest first);
the last three may be outside a plan (402/403): their fields are then None.  Bars:
``/stable/historical-price-eod/full`` (``[{"date": "2024-03-05", "open", ...}]``) and
``/stable/historical-chart/{5min}`` (naive New York times, each the bar's start).  Errors
are ``{"Error Message": ...}``.  Free tier: 250 calls a day.
"""
from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from typing import Any

import pandas as pd

from shared.errors import AuthError, NotFound
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

BASE_URL = "https://financialmodelingprep.com"
LIMIT, PERIOD_S = 250, 86_400
_INTERVAL = {"1m": "1min", "5m": "5min", "15m": "15min"}


def _today() -> date:
    return datetime.now(UTC).date()


class FmpProvider(SourceBase):
    """US equities and ETFs: company fundamentals, daily and intraday bars."""

    name = "fmp"
    asset_classes = frozenset({"equity", "etf"})

    def __init__(self, calendar: MarketCalendar, *, api_key: str, base_url: str = BASE_URL,
                 options: HttpOptions | None = None,
                 today: Callable[[], date] = _today) -> None:
        super().__init__(HttpSource(self.name, base_url, RateBudget(self.name, LIMIT, PERIOD_S),
                                    options), calendar)
        self._key = api_key
        self._today = today

    def _get(self, path: str, **params: Any) -> Any:
        return self.http.get_json(f"/stable/{path}", {**params, "apikey": self._key},
                                  decimals=True)

    def _optional(self, path: str, symbol: str) -> list[dict[str, Any]]:
        """Return a secondary endpoint's rows; none when the plan does not include it."""
        try:
            rows = self._get(path, symbol=symbol)
        except (AuthError, NotFound):
            return []
        return rows if isinstance(rows, list) else []

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object
                   ) -> pd.DataFrame:
        """Return bars opening in ``[start, end)`` (FMP is asked for whole New York days).

        Raises:
            AuthError: a bad key, or intraday bars outside the plan (402/403).
            ValidationError, RateLimited, UpstreamUnavailable: see ``HttpSource.get_json``.
        """
        req = self.request(symbol, timeframe, start, end)
        if req.start >= req.end:
            return self.empty(req)
        first = req.start.tz_convert(NEW_YORK).date().isoformat()
        last = (req.end - pd.Timedelta(1, "ns")).tz_convert(NEW_YORK).date().isoformat()
        path = ("historical-price-eod/full" if req.tf.is_daily
                else f"historical-chart/{_INTERVAL[req.ask.name]}")
        rows = self._get(path, symbol=req.symbol, **{"from": first, "to": last})
        if not isinstance(rows, list) or not rows:
            return self.empty(req)
        dates = [r["date"] for r in rows]
        ts = ny_dates_ns(dates) if req.tf.is_daily else ny_local_ns(dates)
        keep = [i for i, t in enumerate(ts) if t >= 0]
        cols: dict[str, Any] = {k: [rows[i].get(k) for i in keep]
                                for k in ("open", "high", "low", "close", "volume")}
        if req.tf.is_daily:
            cols["vwap"] = [rows[i].get("vwap") for i in keep]
        return self.frame(req, [ts[i] for i in keep], cols)

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """Return the normalised fundamentals (see the module docstring).

        Raises:
            NotFound: FMP has no profile of the symbol.
            AuthError, RateLimited, UpstreamUnavailable: see ``HttpSource.get_json``.
        """
        sym = self.checked_symbol(symbol)
        profile = self._get("profile", symbol=sym)
        if not isinstance(profile, list) or not profile:
            raise NotFound(f"fmp has no profile of {sym}", field="symbol")
        p = profile[0]
        ratios = (self._optional("ratios-ttm", sym) or [{}])[0]
        shares = (self._optional("shares-float", sym) or [{}])[0]
        last, nxt = self._earnings(self._optional("earnings", sym))
        return fundamentals(
            sym, self.name, name=text(p.get("companyName")), exchange=text(p.get("exchange")),
            currency=text(p.get("currency")), sector=text(p.get("sector")),
            industry=text(p.get("industry")), market_cap=dec(p.get("marketCap")),
            shares_outstanding=whole(shares.get("outstandingShares")),
            float_shares=whole(shares.get("floatShares")),
            pe_ratio=dec(ratios.get("priceToEarningsRatioTTM")),
            eps=dec(ratios.get("netIncomePerShareTTM")),
            dividend_yield=dec(ratios.get("dividendYieldTTM")), beta=dec(p.get("beta")),
            next_earnings_date=nxt, last_earnings_date=last)

    def _earnings(self, rows: list[dict[str, Any]]) -> tuple[str | None, str | None]:
        """Return (last reported, next expected) earnings dates as of today (UTC)."""
        today = self._today().isoformat()
        done: list[str] = []
        ahead: list[str] = []
        for r in rows:
            d = iso_date(r.get("date"))
            if d is None:
                continue
            (done if r.get("epsActual") is not None or d < today else ahead).append(d)
        return (max(done) if done else None), (min(ahead) if ahead else None)
