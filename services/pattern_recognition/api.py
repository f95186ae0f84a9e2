"""HTTP routes of the Pattern recognition service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from shared.market.limits import check_range
from shared.market.symbols import normalize_symbol
from shared.web import current_service, current_settings, ok, validate

Timeframe = Literal["1m", "5m", "15m", "1h", "1d"]


def _symbol(v: str) -> str:
    try:
        return normalize_symbol(v)
    except Exception as exc:  # normalize_symbol raises our ValidationError; pydantic wants ValueError
        raise ValueError(str(getattr(exc, "message", exc))) from None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DetectionsQuery(_Strict):
    timeframe: Timeframe | None = None
    start: datetime | None = None
    end: datetime | None = None
    pattern: list[str] = []
    limit: int | None = Field(None, ge=1, le=100_000)

    @model_validator(mode="after")
    def _order(self) -> DetectionsQuery:
        for name in ("start", "end"):
            v = getattr(self, name)
            if v is not None and v.tzinfo is None:
                raise ValueError(f"{name} must carry a time zone (e.g. +00:00 or Z)")
        if self.start and self.end and self.start >= self.end:
            raise ValueError("start must be before end")
        return self


class StatsQuery(_Strict):
    pattern: str | None = Field(None, max_length=40)
    symbol: str | None = None
    timeframe: Timeframe | None = None
    group_by: Literal["pattern", "time_of_day", "symbol", "direction"] = "pattern"
    horizon: int | None = Field(None, ge=1, le=500)
    as_of: datetime | None = None

    @field_validator("symbol")
    @classmethod
    def _sym(cls, v: str | None) -> str | None:
        return None if v is None else _symbol(v)

    @field_validator("as_of")
    @classmethod
    def _aware(cls, v: datetime | None) -> datetime | None:
        if v is not None and v.tzinfo is None:
            raise ValueError("as_of must carry a time zone (e.g. +00:00 or Z)")
        return v


class ScanBody(_Strict):
    symbols: list[str] = Field(min_length=1, max_length=10_000)
    timeframe: Timeframe | None = None
    patterns: list[str] | None = None

    @field_validator("symbols")
    @classmethod
    def _syms(cls, v: list[str]) -> list[str]:
        return list(dict.fromkeys(_symbol(s) for s in v))


bp = Blueprint("candlesticks", __name__, url_prefix="/api/v1/candlesticks")


@bp.get("/patterns")
@validate(summary="The 61 TA-Lib candlestick patterns this service detects",
          tags=["candlesticks"])
def patterns() -> Any:
    from services.pattern_recognition.domain import PATTERNS

    return ok({"count": len(PATTERNS), "patterns": list(PATTERNS)})


@bp.get("/stats")
@validate(query=StatsQuery, tags=["candlesticks"],
          summary="Walk-forward reliability per pattern (universe or one symbol)")
def stats(query: StatsQuery) -> Any:
    return ok(current_service().stats(
        pattern=query.pattern, symbol=query.symbol, timeframe=query.timeframe,
        group_by=query.group_by, horizon=query.horizon, as_of=query.as_of))


@bp.post("/scan")
@validate(body=ScanBody, tags=["candlesticks"],
          summary="Bring a batch of symbols up to date and return their latest patterns")
def scan(body: ScanBody) -> Any:
    return ok(current_service().scan(body.symbols, body.timeframe, body.patterns))


@bp.get("/<path:symbol>")
@validate(query=DetectionsQuery, tags=["candlesticks"],
          summary="Candlestick detections of one symbol in a time range")
def detections(symbol: str, query: DetectionsQuery) -> Any:
    check_range(query.timeframe or current_settings().candlesticks.default_timeframe,
                query.start, query.end, now=current_service().now())
    return ok(current_service().detections(
        normalize_symbol(symbol), query.timeframe, query.start, query.end, query.pattern or None,
        query.limit))


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    return [bp]
