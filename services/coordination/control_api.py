"""Control routes: the market clock, the automation, one cycle now, strategy settings, runs
and the decision ledger (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, request
from pydantic import BaseModel, ConfigDict, Field

from shared.market.symbols import SymbolStr
from shared.web import Instant, SessionDate, current_service, ok, validate


class _M(BaseModel):
    model_config = ConfigDict(extra="forbid")


class ClockBody(_M):
    mode: Literal["live", "replay"] | None = None
    pace: Literal["realtime", "multiplier", "max", "step"] | None = None
    speed: float | None = Field(None, gt=0, le=1_000_000)
    replay_start: SessionDate | None = None
    replay_end: SessionDate | None = None
    step_minutes: int | None = Field(None, ge=1, le=1440)


class ClockActionBody(_M):
    action: Literal["pause", "resume", "step", "advance", "reset", "rewind"] = Field(
        description="reset/rewind: back to the replay's first open in a new market run")
    n: int = Field(1, ge=1, le=100_000, description="steps (step_minutes each) to step")
    to: Instant | None = None


class AutomationBody(_M):
    state: Literal["running", "paused", "stopped"]


class CycleBody(_M):
    advance_steps: int = Field(0, ge=0, le=10_000, description="step the clock first")
    claim_step: bool = Field(False, description="refuse (409) when this clock step was "
                                                "already cycled (a replay driving the clock)")


class RunsQuery(_M):
    limit: int = Field(50, ge=1, le=1000)
    status: Literal["running", "ok", "degraded", "failed"] | None = None
    market_run: int | None = Field(None, ge=1, le=1_000_000,
                                   description="only this market run's (default: every run, "
                                               "the newest run's first)")


class LedgerQuery(_M):
    symbol: SymbolStr | None = Field(None, max_length=21)
    order_id: str | None = None
    client_order_id: str | None = None
    limit: int = Field(100, ge=1, le=10_000)


class StrategyPatch(BaseModel):
    """Any subset of the strategy settings (checked against the full model by the service)."""

    model_config = ConfigDict(extra="allow")


class ChangesQuery(_M):
    limit: int = Field(100, ge=1, le=10_000)


def _svc() -> Any:
    return current_service()


def _changed_by() -> str:
    """Return who changes the settings: the caller's X-Changed-By (printable, 64 chars at
    most), else "api"."""
    who = "".join(c for c in request.headers.get("X-Changed-By", "") if c.isprintable())
    return who.strip()[:64] or "api"


def control_blueprint() -> Blueprint:
    """Return a new blueprint with coordination's control routes."""
    bp = Blueprint("control", __name__, url_prefix="/api/v1")

    @bp.get("/clock")
    @validate(tags=["clock"])
    def clock():  # type: ignore[no-untyped-def]
        """The market clock: mode, pace, speed, range, now and whether the market is open."""
        return ok(_svc().clock_view())

    @bp.get("/market/feed")
    @validate(tags=["clock"])
    def market_feed():  # type: ignore[no-untyped-def]
        """The market-data owner: how far every symbol's bars are stored, the backfill's
        progress, rows written and the last error."""
        return ok(_svc().market_feed())

    @bp.patch("/clock")
    @validate(body=ClockBody, tags=["clock"])
    def configure_clock(body: ClockBody):  # type: ignore[no-untyped-def]
        """Change the clock's mode, pace, speed, replay range or step size."""
        return ok(_svc().configure_clock(**body.model_dump()))

    @bp.post("/clock")
    @validate(body=ClockActionBody, tags=["clock"])
    def clock_action(body: ClockActionBody):  # type: ignore[no-untyped-def]
        """Pause, resume, step n steps, advance to a time, or reset the clock."""
        return ok(_svc().clock_action(body.action, body.n, body.to))

    @bp.get("/clock/runs")
    @validate(tags=["clock"])
    def market_runs():  # type: ignore[no-untyped-def]
        """Market runs, newest first: each rewind closes one and starts the next."""
        return ok(_svc().market_runs())

    @bp.get("/automation")
    @validate(tags=["automation"])
    def automation():  # type: ignore[no-untyped-def]
        """The automation's state, its last step and which process runs the loop."""
        return ok(_svc().automation())

    @bp.post("/automation")
    @validate(body=AutomationBody, tags=["automation"])
    def set_automation(body: AutomationBody):  # type: ignore[no-untyped-def]
        """Start (running), pause or stop the automated cycle."""
        return ok(_svc().set_automation(body.state))

    @bp.post("/cycle")
    @validate(body=CycleBody, status=201, tags=["automation"])
    def cycle(body: CycleBody):  # type: ignore[no-untyped-def]
        """Run one cycle now (after stepping the clock, when asked); returns the run."""
        trigger = "replay" if body.claim_step else "manual"
        return ok(_svc().run_cycle(trigger, body.advance_steps, claim=body.claim_step),
                  status=201)

    @bp.get("/strategy")
    @validate(tags=["strategy"])
    def strategy():  # type: ignore[no-untyped-def]
        """The live strategy settings."""
        return ok(_svc().strategy().model_dump())

    @bp.patch("/strategy")
    @validate(body=StrategyPatch, tags=["strategy"])
    def update_strategy(body: StrategyPatch):  # type: ignore[no-untyped-def]
        """Change strategy settings (validated, applied from the next cycle, logged with the
        caller's ``X-Changed-By``, else "api"). A 400 names each bad field and its allowed
        values (``details.errors``); nothing is stored then."""
        return ok(_svc().update_strategy(dict(body.model_extra or {}), _changed_by()))

    @bp.get("/strategy/changes")
    @validate(query=ChangesQuery, tags=["strategy"])
    def changes(query: ChangesQuery):  # type: ignore[no-untyped-def]
        """Every settings change with its old and new value, newest first."""
        return ok(_svc().settings_changes(query.limit))

    @bp.get("/runs")
    @validate(query=RunsQuery, tags=["runs"])
    def runs(query: RunsQuery):  # type: ignore[no-untyped-def]
        """Workflow runs by market run (the current run's first), newest first."""
        return ok(_svc().runs(query.limit, query.status, query.market_run))

    @bp.get("/runs/<run_id>")
    @validate(tags=["runs"], responses={404: "Unknown run"})
    def run(run_id: str):  # type: ignore[no-untyped-def]
        """One run with its steps (start, duration, inputs, outputs, errors)."""
        return ok(_svc().run(run_id))

    @bp.get("/decisions")
    @validate(query=LedgerQuery, tags=["ledger"])
    def decisions(query: LedgerQuery):  # type: ignore[no-untyped-def]
        """The decision ledger: why each order was placed."""
        return ok(_svc().ledger(symbol=query.symbol, order_id=query.order_id,
                                client_order_id=query.client_order_id, limit=query.limit))

    return bp
