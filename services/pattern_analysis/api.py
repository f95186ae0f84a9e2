"""HTTP routes of the Pattern analysis service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from typing import Literal, Optional

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from services.pattern_analysis.domain import PATTERNS
from shared.errors import ValidationError
from shared.market.symbols import normalize_symbol
from shared.web import current_service, ok, validate

Timeframe = Literal["1m", "5m", "15m", "1h", "1d"]
StatusName = Literal["forming", "active", "confirmed", "completed", "broken", "invalidated",
                     "expired"]
PatternName = Literal[PATTERNS]  # type: ignore[valid-type]


class PatternsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeframe: Timeframe | None = None
    # Optional[...] (not `X | None`): shared.web's query parser spots lists inside
    # typing.Union only, and a list field takes repeated or comma-separated values.
    status: Optional[list[StatusName]] = None  # noqa: UP045
    pattern: Optional[list[PatternName]] = None  # noqa: UP045
    min_confidence: float | None = Field(None, ge=0, le=1)
    limit: int = Field(200, ge=1, le=1000)


class LevelsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeframe: Timeframe | None = None


class PatternsBatchBody(BaseModel):
    """``GET /patterns/<symbol>`` for many symbols in one request."""

    model_config = ConfigDict(extra="forbid")
    symbols: list[str] = Field(min_length=1, max_length=500)
    timeframe: Timeframe | None = None
    status: list[StatusName] | None = None
    pattern: list[PatternName] | None = None
    min_confidence: float | None = Field(None, ge=0, le=1)
    limit: int = Field(200, ge=1, le=1000)


class ScanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    symbols: list[str] = Field(min_length=1, max_length=5000)
    timeframe: Timeframe | None = None
    force: bool = False


def _symbol(raw: str, field: str = "symbol") -> str:
    """Return the normalised symbol.

    Raises:
        ValidationError: when it is not a valid ticker (naming ``field``).
    """
    try:
        return normalize_symbol(raw)
    except (ValidationError, ValueError) as exc:
        raise ValidationError(f"invalid symbol {raw!r}: {exc}", field=field) from None


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    bp = Blueprint("pattern_analysis", __name__, url_prefix="/api/v1")

    @bp.get("/patterns/<symbol>")
    @validate(query=PatternsQuery, tags=["patterns"])
    def get_patterns(symbol: str, query: PatternsQuery):
        """Chart patterns of one symbol with key prices and confidence."""
        return ok(current_service().patterns(
            _symbol(symbol), query.timeframe, statuses=query.status, patterns=query.pattern,
            min_confidence=query.min_confidence, limit=query.limit))

    @bp.get("/levels/<symbol>")
    @validate(query=LevelsQuery, tags=["patterns"])
    def get_levels(symbol: str, query: LevelsQuery):
        """Support and resistance levels of one symbol, strongest first."""
        return ok(current_service().levels(_symbol(symbol), query.timeframe))

    @bp.post("/patterns/batch")
    @validate(body=PatternsBatchBody, tags=["patterns"])
    def get_patterns_batch(body: PatternsBatchBody):
        """Chart patterns of many symbols, refreshed as one batch (per-symbol errors inline)."""
        symbols = [_symbol(s, f"symbols.{i}") for i, s in enumerate(body.symbols)]
        return ok(current_service().patterns_many(
            symbols, body.timeframe, statuses=body.status, patterns=body.pattern,
            min_confidence=body.min_confidence, limit=body.limit))

    @bp.post("/patterns/scan")
    @validate(body=ScanBody, tags=["patterns"])
    def scan(body: ScanBody):
        """Analyse a batch of symbols and store their detections (all or nothing)."""
        symbols = [_symbol(s, f"symbols.{i}") for i, s in enumerate(body.symbols)]
        return ok(current_service().scan(symbols, body.timeframe, force=body.force))

    return [bp]
