"""HTTP routes of the Technical analysis service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from datetime import datetime
from typing import Annotated

import pandas as pd
from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.market.limits import check_range
from shared.web import AnyInstant, current_service, current_settings, ok, validate

Finite = Annotated[float, Field(allow_inf_nan=False)]
Series = list[Finite] | None
SERIES = ("open", "high", "low", "close", "volume", "periods")


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class IndicatorsQuery(_Model):
    # Lists default to [] rather than None: the shared query parser splits commas only for
    # plain list annotations.
    timeframe: list[str] = Field([], description="one or more of 1m, 5m, 15m, 1h, 1d")
    names: list[str] = Field([], description="e.g. SMA:20,RSI,BBANDS:timeperiod=20")
    start: AnyInstant | None = None
    end: AnyInstant | None = None
    limit: int | None = Field(None, ge=1, le=100_000, description="only the last N bars")


class ComputeBody(_Model):
    open: Series = None
    high: Series = None
    low: Series = None
    close: Series = None
    volume: Series = None
    periods: Series = Field(None, description="the per-bar periods MAVP takes")
    timestamps: list[datetime] | None = Field(None, description="bar open times (UTC); the "
                                              "session indicators need them")
    indicators: list[str] = Field(min_length=1, max_length=500)

    @model_validator(mode="after")
    def _lengths(self) -> ComputeBody:
        given = {k: len(getattr(self, k)) for k in (*SERIES, "timestamps")
                 if getattr(self, k) is not None}
        if not set(given) - {"timestamps", "periods"}:
            raise ValueError("send at least one of open, high, low, close, volume")
        n = given.get("close", next(iter(given.values())))
        for k, m in given.items():
            if m != n:
                raise ValueError(f"series '{k}' has {m} values but the others have {n}; "
                                 "all series must have the same length")
        return self


class AnalyzeBody(_Model):
    symbols: list[str] = Field(min_length=1, max_length=10_000)
    timeframe: str | None = None
    indicators: list[str] | None = Field(None, max_length=500)
    bars: int | None = Field(None, ge=2, le=100_000, description="read only the last N bars")
    strategies: bool = True
    store: bool = True
    use_cache: bool = True


class SignalsQuery(_Model):
    strategy: str | None = None
    timeframe: str | None = None
    since: AnyInstant | None = None
    limit: int = Field(100, ge=1, le=5000)
    refresh: bool = False


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    bp = Blueprint("technical", __name__, url_prefix="/api/v1")

    @bp.get("/indicators")
    @validate(summary="List every indicator with its parameters", tags=["indicators"])
    def list_indicators():  # type: ignore[no-untyped-def]
        return ok(current_service().catalogue())

    @bp.get("/indicators/<path:symbol>")  # a crypto pair has a slash: BTC/USD
    @validate(query=IndicatorsQuery, tags=["indicators"],
              summary="Indicator series of a symbol (aligned timestamps, warm-up as null)")
    def symbol_indicators(symbol: str, query: IndicatorsQuery):  # type: ignore[no-untyped-def]
        tfs = query.timeframe or [current_settings().technical.default_timeframe]
        now = pd.Timestamp(current_service().now())
        for tf in tfs:  # a bounded read: 400 naming the field and the allowed range
            check_range(tf, query.start, query.end, now=now)
        return ok(current_service().indicators(symbol, tfs, query.names, query.start,
                                               query.end, query.limit))

    @bp.post("/indicators")
    @validate(body=ComputeBody, tags=["indicators"],
              summary="Compute indicators on OHLCV arrays sent in the body (stateless)")
    def compute(body: ComputeBody):  # type: ignore[no-untyped-def]
        series = {k: getattr(body, k) for k in SERIES if getattr(body, k) is not None}
        return ok(current_service().compute(series, body.indicators, body.timestamps))

    @bp.get("/signals/<path:symbol>")  # a crypto pair has a slash: BTC/USD
    @validate(query=SignalsQuery, tags=["signals"], summary="Stored signals of a symbol")
    def signals(symbol: str, query: SignalsQuery):  # type: ignore[no-untyped-def]
        return ok(current_service().signals(symbol, strategy=query.strategy,
                                            timeframe=query.timeframe, since=query.since,
                                            limit=query.limit, refresh=query.refresh))

    @bp.post("/analyze")
    @validate(body=AnalyzeBody, tags=["signals"],
              summary="Indicators, strategy signals and their weighted blend for many symbols")
    def analyze(body: AnalyzeBody):  # type: ignore[no-untyped-def]
        return ok(current_service().analyze(
            body.symbols, body.timeframe, names=body.indicators, bars=body.bars,
            strategies=body.strategies, store=body.store, use_cache=body.use_cache))

    from services.technical_analysis.strategies_api import strategies_blueprint

    return [bp, strategies_blueprint()]
