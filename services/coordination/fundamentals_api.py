"""``GET /api/v1/fundamentals/<symbol>``: a symbol's fundamentals, cache-first, combined.

Coordination owns market data, so it is the one process that fetches fundamentals and writes
their file cache (``shared.market.fundamentals``); the scanner only reads it.
"""
from __future__ import annotations

import threading
from datetime import date
from typing import Any
from zoneinfo import ZoneInfo

from flask import Blueprint, current_app
from pydantic import BaseModel, ConfigDict, Field

from shared.market.fundamentals import Fundamentals, build_fundamentals
from shared.market.symbols import normalize_symbol
from shared.web import current_service, current_settings, ok, validate

_KEY = "fundamentals"
_BUILD = threading.Lock()
_NY = ZoneInfo("America/New_York")


class FundamentalsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    refresh: bool = Field(False, description="fetch again from every provider, fresh or not")


class FundamentalsRecord(BaseModel):
    """Numbers are decimal strings (exact); dividend_yield is a fraction; dates YYYY-MM-DD."""

    name: str | None
    exchange: str | None
    currency: str | None
    sector: str | None
    industry: str | None
    market_cap: str | None
    shares_outstanding: str | None
    float_shares: str | None
    pe_ratio: str | None
    eps: str | None
    dividend_yield: str | None
    beta: str | None
    next_earnings_date: str | None
    last_earnings_date: str | None


class Disagreement(BaseModel):
    field: str
    chosen: str = Field(description="the provider whose value was taken")
    values: dict[str, str] = Field(description="every provider's value")
    max_relative_diff: str | None = Field(None, description="numbers: the largest relative gap")


class ProviderStatus(BaseModel):
    fetched_at: str | None
    stale: bool = Field(description="its record is past market.fundamentals_ttl_days")
    cached: bool = Field(description="read from the file cache, not fetched now")
    error: str | None = None


class FundamentalsView(BaseModel):
    symbol: str
    fundamentals: FundamentalsRecord
    sources: dict[str, str] = Field(description="field -> the provider it came from")
    disagreements: list[Disagreement]
    missing: dict[str, str] = Field(description="field without a value -> why")
    providers: dict[str, ProviderStatus]
    fetched_at: dict[str, str | None] = Field(description="provider -> when its record was fetched")
    stale: bool = Field(description="a value shown comes from an expired record (its provider "
                                    "failed)")
    simulated: bool = Field(description="every value is the built-in market's")


def _fundamentals() -> Fundamentals:
    """Return this app's fundamentals reader-writer (built on first use)."""
    ext: dict[str, Any] = current_app.extensions
    if _KEY not in ext:
        with _BUILD:
            if _KEY not in ext:
                clock = current_service().clock

                def today() -> date:  # the built-in market's earnings schedule: market time
                    return clock.now().astimezone(_NY).date()

                ext[_KEY] = build_fundamentals(current_settings(), writable=True, today=today)
    return ext[_KEY]


def fundamentals_blueprint() -> Blueprint:
    """Return a new blueprint with the fundamentals route."""
    bp = Blueprint("fundamentals", __name__, url_prefix="/api/v1")

    @bp.get("/fundamentals/<symbol>")
    @validate(query=FundamentalsQuery, response=FundamentalsView, tags=["market"],
              responses={400: "Not a ticker or crypto pair (BTC-USD for BTC/USD)",
                         404: "A symbol outside the market's universe (nothing is stored)"})
    def fundamentals(symbol: str, query: FundamentalsQuery):  # type: ignore[no-untyped-def]
        """A symbol's fundamentals: each field from the highest-priority provider that has
        it, its source, where providers disagree, and each provider's fetch time."""
        return ok(_fundamentals().get(normalize_symbol(symbol), refresh=query.refresh))

    return bp
