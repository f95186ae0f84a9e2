"""HTTP routes of the Reporting service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, Response, current_app, g, request
from pydantic import BaseModel, ConfigDict, Field

from services.reporting import runs
from services.reporting.service import ReportingService
from shared.analytics import GROUPS
from shared.db.bounds import DB_INT_MAX
from shared.errors import NotFound, ValidationError
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
    run: int | None = Field(None, ge=1, le=1_000_000,
                            description="market run (default: the current one; a closed "
                                        "run's report as it was when it closed)")


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


class CloseRunBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    run: int = Field(ge=1, le=1_000_000, description="the market run that closes")


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
        if not runs.is_current(_svc().db, query.run):
            return ok(runs.frozen(_svc().db, query.run, g.account, "summary"))
        return ok(_svc().summary(query.epoch))

    @bp.get("/equity")
    @validate(query=RangeQuery, tags=["report"])
    def equity(query: RangeQuery) -> Response:
        """The equity curve (one point per clock step) with drawdown, and daily P&L."""
        epoch = query.epoch
        if not runs.is_current(_svc().db, query.run):
            epoch = runs.run_epoch(_svc().db, query.run, g.account)
        return ok(_svc().equity_view(epoch, query.start, query.end))

    @bp.get("/trades")
    @validate(query=TradesQuery, tags=["report"])
    def trades(query: TradesQuery) -> Response:
        """The trade journal: round trips, newest first (a closed run's: its frozen page)."""
        if not runs.is_current(_svc().db, query.run):
            page = runs.frozen(_svc().db, query.run, g.account, "trades")
            trips = page["trades"][query.offset:query.offset + query.limit]
            return ok({**page, "offset": query.offset, "trades": trips})
        return ok(_svc().trades(epoch=query.epoch, status=query.status, symbol=query.symbol,
                                strategy=query.strategy, limit=query.limit, offset=query.offset))

    @bp.get("/metrics")
    @validate(query=MetricsQuery, tags=["report"])
    def metrics(query: MetricsQuery) -> Response:
        """Every performance figure, or trade figures per strategy/symbol/side/time/pattern."""
        if not runs.is_current(_svc().db, query.run):
            if query.group_by or query.start or query.end:
                raise ValidationError("a closed run's metrics are its whole-run figures: "
                                      "leave out group_by, start and end", field="run")
            return ok(runs.frozen(_svc().db, query.run, g.account, "metrics"))
        return ok(_svc().metrics(query.group_by, query.epoch, query.start, query.end))

    @bp.get("/export")
    @validate(query=ExportQuery, tags=["report"], raw=True,
              mimetypes=("text/csv", "application/json", "text/html"))
    def export(query: ExportQuery) -> Response:
        """Download the report as CSV, JSON or a self-contained HTML page."""
        if not runs.is_current(_svc().db, query.run):
            raise ValidationError("export reads the current market run; leave out run",
                                  field="run")
        f = _svc().export(query.format, query.what, query.epoch)
        resp = current_app.response_class(f.content, mimetype=f.mimetype)
        resp.headers["Content-Disposition"] = f'attachment; filename="{f.filename}"'
        return resp

    @bp.get("/runs")
    @validate(tags=["report"])
    def closed_runs() -> Response:
        """The current market run and every closed run with its accounts' epochs."""
        return ok(runs.closed_runs(current_service().db))

    @bp.post("/runs/close")
    @validate(body=CloseRunBody, tags=["report"])
    def close_run(body: CloseRunBody) -> Response:
        """Freeze a closing market run's report (coordination, before a rewind); returns
        the fence paper trading checks before it archives the run."""
        return ok(runs.close_run(current_service(), body.run, current_app.json.dumps))

    @bp.post("/snapshot")
    @validate(body=SnapshotBody, status=201, tags=["report"])
    def snapshot(body: SnapshotBody) -> Response:
        """Record the account's equity at this clock step (coordination calls it each cycle)."""
        if body.account is not None:
            return ok(current_service().for_account(_resolve_account(body.account)).snapshot(
                body.ts, body.run_id, body.source), status=201)
        return ok(current_service().snapshot_all(body.ts, body.run_id, body.source), status=201)

    return [bp]
