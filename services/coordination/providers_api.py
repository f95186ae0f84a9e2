"""``GET /api/v1/providers``: the market-data providers of the market owner (this service's
feed): configured or not, what each serves, its routes, breaker, calls, errors and budget."""
from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from shared.config_sections.market import ProviderName
from shared.market.provider_report import providers_report
from shared.web import current_service, ok, validate

State = Literal["ready", "no_key", "unavailable", "breaker_open", "rate_limited", "failing"]


class ProvidersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: list[ProviderName] | None = Field(None, description="only these providers "
                                                              "(repeat the parameter)")
    state: State | None = Field(None, description="only providers in this state")
    routed: bool | None = Field(None, description="true: only providers a route names")


class Breaker(BaseModel):
    state: Literal["closed", "open", "half-open"]
    fail_counter: int
    fail_max: int
    opened_at: str | None
    open_until: str | None = Field(description="when an open breaker lets a call through")


class Budget(BaseModel):
    model_config = ConfigDict(extra="allow")
    limit: int | None = None
    period_s: float | None = None
    remaining: int | None = None
    next_slot_s: float | None = None


class ProviderEntry(BaseModel):
    name: str
    configured: bool = Field(description="its keys are present, or it needs none")
    active: bool = Field(description="built in the market owner (a route names it): only "
                                     "then are its budget and capabilities its own answer")
    keys: list[str] = Field(description="the environment variables it needs")
    missing_keys: list[str]
    asset_classes: list[str]
    timeframes: list[str]
    routes: list[str] = Field(description="the market.routes keys naming it")
    state: State
    state_text: str = Field(description='the state in words, e.g. "no key (set '
                                        'POLYGON_API_KEY)"')
    breaker: Breaker
    calls: int
    failures: int
    skipped_open: int
    rate_limited: int
    rate_limited_until: str | None
    last_error: str | None
    last_error_at: str | None
    last_success_at: str | None
    budget: Budget | None = Field(description="its rate limit now (None: it has none)")


class StaleInfo(BaseModel):
    served: int = Field(description="reads served stale because every provider failed")
    failovers: int
    last: dict[str, Any] | None = Field(description="symbol, timeframe, at, reason (each "
                                                    "provider's error)")


class ProvidersAnswer(BaseModel):
    providers: list[ProviderEntry]
    routes: dict[str, list[str]]
    resolved: dict[str, dict[str, list[str]]] = Field(
        description="the chain per asset class and timeframe")
    breaker_fail_max: int
    breaker_reset_s: float
    stale_fallback: bool
    stale: StaleInfo
    checked_at: str


def report(dm: Any, query: ProvidersQuery) -> dict[str, Any]:
    """Return the providers report filtered by the query."""
    out = providers_report(dm, names=query.name)
    out["providers"] = [p for p in out["providers"]
                        if (query.state is None or p["state"] == query.state)
                        and (query.routed is None or bool(p["routes"]) is query.routed)]
    return out


def providers_blueprint() -> Blueprint:
    """Return a new blueprint with the providers route."""
    bp = Blueprint("providers", __name__, url_prefix="/api/v1")

    @bp.get("/providers")
    @validate(query=ProvidersQuery, response=ProvidersAnswer, tags=["market"])
    def providers(query: ProvidersQuery):  # type: ignore[no-untyped-def]
        """Every market-data provider: configured or not (its keys), what it serves, the
        routes naming it, its breaker, calls and failures, last error and success, rate
        budget, and its state in words."""
        return ok(report(current_service().feed.dm, query))

    return bp
