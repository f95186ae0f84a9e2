"""Routes of market runs (thin): start the next run (coordination calls it before it moves
the clock), the current run, and the archive of the closed runs' rows."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, g
from pydantic import BaseModel, ConfigDict, Field

from services.paper_trading.adapters.archive import KINDS
from services.paper_trading.entrypoints.api import resolve_account_arg
from shared.db.bounds import DB_INT_MAX
from shared.web import Instant, current_service, ok, validate

Kind = Literal[KINDS]  # type: ignore[valid-type]


class Fence(BaseModel):
    model_config = ConfigDict(extra="forbid")
    fills: int = Field(ge=0, le=DB_INT_MAX, description="newest pt_fills id the report saw")
    ledger: int = Field(ge=0, le=DB_INT_MAX, description="newest pt_ledger id the report saw")


class StartRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    run: int = Field(ge=2, le=1_000_000, description="the run to start (the current one + 1)")
    fence: Fence
    starts_at: Instant | None = Field(None, description="the new run's first market time "
                                                        "(its market_run events' date)")


class ArchiveQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = Field(None, max_length=128, description="the account's id or name "
                                "(default: the automation's)")
    limit: int = Field(100, ge=1, le=10_000)
    offset: int = Field(0, ge=0, le=DB_INT_MAX)


def blueprint() -> Blueprint:
    """Return the /api/v1/market-runs blueprint."""
    bp = Blueprint("market_runs", __name__, url_prefix="/api/v1/market-runs")

    @bp.before_request
    def _account() -> None:
        resolve_account_arg()

    @bp.get("")
    @validate(tags=["market runs"])
    def current() -> Response:
        """The market run of the live rows (and the clock's), with every archived run."""
        runs = current_service().market_runs
        return ok({**runs.current(), "archived": runs.archived()})

    @bp.post("")
    @validate(body=StartRunBody, status=201, tags=["market runs"],
              responses={409: "not the next run, or rows booked after the fence"})
    def start(body: StartRunBody) -> Response:
        """Archive the current run's orders, fills, positions, ledger, risk sessions, day
        trades and events, reset every account's cash, and start run ``run``."""
        return ok(current_service().market_runs.start(body.run, body.fence.model_dump(),
                                                      body.starts_at), status=201)

    @bp.get("/<int:run>/<kind>")
    @validate(query=ArchiveQuery, tags=["market runs"], responses={404: "run not archived"})
    def rows(run: int, kind: str, query: ArchiveQuery) -> Response:
        """One account's archived rows of a closed run (kind: account, order, order_event,
        fill, ledger, position, session, day_trade, event), in their original order."""
        return ok(current_service().market_runs.rows(run, kind, g.account, query.limit,
                                                     query.offset))

    return bp
