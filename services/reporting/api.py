"""HTTP routes of the Reporting service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ConfigDict, Field

from services.reporting.domain import GROUPS
from services.reporting.service import ReportingService
from shared.db.bounds import DB_INT_MAX
from shared.errors import NotFound
from shared.market.symbols import SymbolStr
from shared.web import Instant, current_service, ok, validate

GroupBy = Literal[GROUPS]  # type: ignore[valid-type]


class _Query(BaseModel):
    model_config = ConfigDict(extra="forbid")

    epoch: int | None = Field(None, ge=0, le=DB_INT_MAX,
                              description="paper account epoch (default: current)")
    account: str | None = Field(None, min_length=1, max_length=128,
                                description="paper account id or name (default: the "
                                            "automation's)")


class RangeQuery(_Query):
    start: Instant | None = None
    end: Instant | None = None


class TradesQuery(_Query):
    status: Literal["all", "open", "closed"] = "all"
    symbol: SymbolStr | None = Field(None, min_length=1, max_length=21)
    strategy: str | None = Field(None, min_length=1, max_length=100)
    limit: int = Field(100, ge=1, le=100_000)
    offset: int = Field(0, ge=0, le=DB_INT_MAX)


class MetricsQuery(RangeQuery):
    group_by: GroupBy | None = None


class ExportQuery(_Query):
    format: Literal["csv", "json", "html"] = "json"
    what: Literal["trades", "equity", "daily"] = Field("trades", description="table of a CSV")


class SnapshotBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    ts: Instant | None = Field(None, description="clock step (default: the clock's now)")
    run_id: str | None = Field(None, max_length=100)
    source: str = Field("api", min_length=1, max_length=40)
    account: str | None = Field(None, min_length=1, max_length=128,
                                description="one paper account (default: every active one)")


def _svc() -> ReportingService:
    """Return the service scoped to the request's paper account (``?account=``)."""
    svc: ReportingService = current_service()
    return svc.for_account(g.get("account", 1))


def _resolve_account(ref: str | None) -> int:
    """Return the account id of ``ref`` (an id or a name; the automation's when None).

    Raises:
        NotFound: no such account.
    """
    if not ref:
        return 1
    found = current_service().repo.account_ref(ref)
    if found is None:
        raise NotFound(f"account not found for {ref}", field="account")
    return found


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    bp = Blueprint("report", __name__, url_prefix="/api/v1/report")

    @bp.before_request
    def _account() -> None:
        g.account = _resolve_account(request.args.get("account"))

    @bp.get("/summary")
    @validate(query=_Query, tags=["report"])
    def summary(query: _Query) -> Response:
        """Headline figures, the account's P&L and the ledger cross-check."""
        return ok(_svc().summary(query.epoch))

    @bp.get("/equity")
    @validate(query=RangeQuery, tags=["report"])
    def equity(query: RangeQuery) -> Response:
        """The equity curve (one point per clock step) with drawdown, and daily P&L."""
        return ok(_svc().equity_view(query.epoch, query.start, query.end))

    @bp.get("/trades")
    @validate(query=TradesQuery, tags=["report"])
    def trades(query: TradesQuery) -> Response:
        """The trade journal: round trips, newest first."""
        return ok(_svc().trades(epoch=query.epoch, status=query.status, symbol=query.symbol,
                                strategy=query.strategy, limit=query.limit, offset=query.offset))

    @bp.get("/metrics")
    @validate(query=MetricsQuery, tags=["report"])
    def metrics(query: MetricsQuery) -> Response:
        """Every performance figure, or trade figures per strategy/symbol/side/time/pattern."""
        return ok(_svc().metrics(query.group_by, query.epoch, query.start, query.end))

    @bp.get("/export")
    @validate(query=ExportQuery, tags=["report"], raw=True,
              mimetypes=("text/csv", "application/json", "text/html"))
    def export(query: ExportQuery) -> Response:
        """Download the report as CSV, JSON or a self-contained HTML page."""
        f = _svc().export(query.format, query.what, query.epoch)
        resp = current_app.response_class(f.content, mimetype=f.mimetype)
        resp.headers["Content-Disposition"] = f'attachment; filename="{f.filename}"'
        return resp

    @bp.post("/snapshot")
    @validate(body=SnapshotBody, status=201, tags=["report"])
    def snapshot(body: SnapshotBody) -> Response:
        """Record the account's equity at this clock step (coordination calls it each cycle)."""
        if body.account is not None:
            return ok(current_service().for_account(_resolve_account(body.account)).snapshot(
                body.ts, body.run_id, body.source), status=201)
        return ok(current_service().snapshot_all(body.ts, body.run_id, body.source), status=201)

    return [bp]
