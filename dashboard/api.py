"""The dashboard's JSON API: aggregated reads, forwarded actions and the live event stream."""
from __future__ import annotations

from typing import Any, Literal

from flask import Blueprint, Response, current_app, request
from pydantic import BaseModel, ConfigDict, Field

from dashboard import auth
from dashboard.backend import UPSTREAMS, Backend
from dashboard.charts import LOOKBACK_DAYS, TIMEFRAMES, chart_payload
from dashboard.coordination import SLOW_CALL_S, Coordination
from dashboard.ticket import ClockHold, TicketQuery, ticket_figures
from shared.errors import NotFound, ServiceUnavailable, ValidationError
from shared.market.symbols import SymbolStr
from shared.web import current_settings, ok, validate


def _backend() -> Backend:
    return current_app.extensions["service"]


def _coord() -> Coordination:
    return _backend().coordination


def _hold() -> ClockHold:
    """Return this process's ticket hold on the market clock (made on first use)."""
    coord, ttl = _coord(), current_settings().dashboard.ticket_hold_ttl_s
    return ClockHold.of(current_app.extensions, lambda: ClockHold(
        lambda: coord.clock_action("pause", {}), lambda: coord.clock_action("resume", {}),
        coord.clock, ttl))


class AutomationBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: Literal["running", "paused", "stopped"]


class CycleBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    advance_steps: int = Field(0, ge=0, le=10_000, description="step the clock first")


class WorkflowQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    limit: int = Field(20, ge=1, le=200)


class DecisionQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    order_id: str | None = Field(None, max_length=100)
    client_order_id: str | None = Field(None, max_length=100)
    symbol: SymbolStr | None = Field(None, max_length=21)
    decision_id: str | None = Field(None, max_length=100)
    limit: int = Field(50, ge=1, le=1000)


class LogQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    lines: int | None = Field(None, ge=1, le=1000)
    level: Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"] = Field(
        "INFO", description="the lowest level shown under entries (DEBUG shows slow queries)")


class ChartQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    timeframe: Literal["1m", "5m", "15m", "1h", "1d"] = "5m"
    bars: int | None = Field(None, ge=10, le=5000)


class StreamQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = Field(None, min_length=1, max_length=128,
                                description="paper account id or name (default: the automation's)")
    topics: str | None = Field(None, max_length=200, description="comma-separated topics")


class ExportQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    format: Literal["csv", "json", "html"] = "json"
    what: Literal["trades", "equity", "daily"] = "trades"
    account: str | None = Field(None, min_length=1, max_length=128,
                                description="paper account id or name (default: the automation's)")


class SymbolQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    q: str = Field("", max_length=20)
    limit: int = Field(20, ge=1, le=600)


#: Forwarded actions that work over the whole universe and may take tens of seconds.
SLOW_ACTIONS = {("scanner", "/api/v1/scan"), ("pattern_analysis", "/api/v1/patterns/scan"),
                ("pattern_recognition", "/api/v1/candlesticks/scan"),
                ("technical_analysis", "/api/v1/analyze"), ("news", "/api/v1/news/refresh")}


def _forward_path(service: str, path: str) -> tuple[str, str]:
    """Return (service, /api/v1/...) for a proxied call.

    Raises:
        NotFound: an unknown service.
        ValidationError: a path outside the service's /api/v1 API.
    """
    if service not in UPSTREAMS:
        raise NotFound(f"unknown service {service!r}; known: {list(UPSTREAMS)}", field="service")
    if ".." in path.split("/"):
        raise ValidationError("the path may not contain '..'", field="path")
    return service, "/api/v1/" + path.lstrip("/")


def blueprints() -> list[Blueprint]:
    """Return the dashboard's API blueprint (under /api/v1)."""
    bp = Blueprint("dashboard_api", __name__, url_prefix="/api/v1")

    @bp.get("/session")
    @validate()
    def session_state() -> Response:
        """Whether a login is needed, whether this browser has one, and its CSRF token."""
        return ok(auth.session_info(current_settings()))

    @bp.get("/overview")
    @validate()
    def overview() -> Response:
        """Every service: state, uptime, restarts, health latency, breakers; the outages."""
        return ok(_backend().services())

    @bp.post("/services/<name>/restart")
    @validate(status=202)
    def restart(name: str) -> Response:
        """Ask the suite's manager (its control directory) to restart one service."""
        return ok(_backend().restart(name), status=202)

    @bp.get("/services/<name>/logs")
    @validate(query=LogQuery)
    def logs(name: str, query: LogQuery) -> Response:
        """The tail of one service's log file."""
        return ok(_backend().log_tail(name, query.lines, query.level))

    @bp.get("/clock")
    @validate()
    def clock() -> Response:
        """The market clock from coordination (mode, pace, speed, paused, now) and its session."""
        return ok(_coord().clock())

    @bp.post("/clock/<action>")
    @validate(body_doc={"type": "object", "description": "forwarded to coordination"})
    def clock_action(action: str) -> Response:
        """pause / resume / step {n} / advance {to} / reset, or configure {mode, pace, speed...}."""
        return ok(_coord().clock_action(action, request.get_json(silent=True) or {}))

    @bp.get("/ticket")
    @validate(query=TicketQuery)
    def ticket(query: TicketQuery) -> Response:
        """The order ticket's quote (bid, ask, last), estimated cost, buying power after it
        and whether its size needs a confirmation (``dashboard.confirm_notional_above``)."""
        return ok(ticket_figures(_backend(), query))

    @bp.post("/ticket/hold")
    @validate()
    def ticket_hold() -> Response:
        """Pause a running replay clock while the ticket is edited, or renew that pause; it
        is resumed ``dashboard.ticket_hold_ttl_s`` after the last renewal."""
        return ok(_hold().hold())

    @bp.delete("/ticket/hold")
    @validate()
    def ticket_release() -> Response:
        """Resume the clock if the ticket's hold paused it (at the speed it had)."""
        return ok(_hold().release())

    @bp.get("/automation")
    @validate()
    def automation() -> Response:
        """The automated cycle's state (running, paused, stopped) and its last step."""
        return ok(_coord().automation())

    @bp.post("/automation")
    @validate(body=AutomationBody)
    def set_automation(body: AutomationBody) -> Response:
        """Start, pause or stop the automated cycle."""
        return ok(_coord().set_automation(body.state))

    @bp.post("/cycle")
    @validate(body=CycleBody, status=201)
    def cycle(body: CycleBody) -> Response:
        """Run one coordination cycle now (after stepping the clock, when asked)."""
        return ok(_coord().cycle(body.advance_steps), status=201)

    @bp.get("/workflow")
    @validate(query=WorkflowQuery)
    def workflow(query: WorkflowQuery) -> Response:
        """The newest workflow runs, the first few with their steps (timings, errors)."""
        return ok(_coord().workflow(query.limit))

    @bp.get("/decisions")
    @validate(query=DecisionQuery)
    def decisions(query: DecisionQuery) -> Response:
        """The decision-ledger entries of an order, a client order id, a decision or a symbol."""
        return ok(_coord().decisions(**query.model_dump()))

    @bp.get("/chart/<symbol>")
    @validate(query=ChartQuery)
    def chart(symbol: str, query: ChartQuery) -> Response:
        """Visible bars of a symbol with overlays, RSI and MACD, ready for the chart."""
        settings = current_settings()
        dm = _backend().data_manager()
        cutoff = dm.clock.now_ts()
        start = cutoff - _days(LOOKBACK_DAYS[query.timeframe])
        df = dm.get_ohlcv(symbol, query.timeframe, start=start)
        bars = query.bars or settings.dashboard.chart_bars
        data: dict[str, Any] = {"symbol": df.attrs.get("symbol", symbol.upper()),
                                "timeframe": query.timeframe, "as_of": cutoff.isoformat(),
                                "timeframes": list(TIMEFRAMES), "stale": bool(df.attrs.get("stale")),
                                "stale_reason": df.attrs.get("errors") if df.attrs.get("stale") else None}
        data.update(chart_payload(df, bars=bars, timeframe=query.timeframe))
        return ok(data)

    @bp.get("/symbols")
    @validate(query=SymbolQuery)
    def symbols(query: SymbolQuery) -> Response:
        """Symbols of the universe whose ticker or name starts with / contains ``q``."""
        q = query.q.strip().upper()
        rows = _backend().data_manager().get_symbols()
        hits = [r for r in rows if not q or r["symbol"].startswith(q)]
        hits += [r for r in rows if q and q not in r["symbol"][: len(q)] and
                 q in (r["symbol"] + " " + str(r.get("name", "")).upper())]
        return ok(hits[: query.limit])

    @bp.get("/stream")
    @validate(query=StreamQuery, raw=True, mimetypes=("text/event-stream",),
              responses={307: "the stream server's URL of the live stream (Location)"})
    def stream(query: StreamQuery) -> Response:
        """Server-Sent Events: health, clock, orders, positions, account, fills, workflow.

        The paper-trading topics are those of ``account`` (the automation's by default).

        Served by the stream server (services.paper_trading.streaming, its own port and one
        event loop) so an open tab holds no thread here; the browser's EventSource follows
        this 307 (the stream answers CORS for this page's origin, and the pages' CSP allows
        connecting to it).
        """
        from shared.web.stream_urls import stream_location

        url = stream_location(current_settings(), request.host, request.scheme,
                              "/api/v1/dashboard/stream", dict(request.args))
        return Response(status=307, headers={"Location": url, "Cache-Control": "no-store"})

    @bp.get("/export/reporting")
    @validate(query=ExportQuery, raw=True, mimetypes=("text/csv", "application/json", "text/html"))
    def export(query: ExportQuery) -> Response:
        """Download reporting's export (CSV, JSON or the self-contained HTML report) of one
        paper account (``account``, the automation's by default)."""
        resp = _backend().client("reporting").request_raw(
            "GET", "/api/v1/report/export", params=query.model_dump(exclude_none=True))
        if resp.status_code == 404 and query.account:
            raise NotFound(f"no paper account {query.account!r} to export", field="account")
        if resp.status_code >= 400:
            raise ServiceUnavailable(f"reporting could not export: {resp.status_code}",
                                     details={"body": resp.text[:500]})
        # reporting names the file and its type: passed on as they are (``mimetype=`` would
        # append a second charset to its "text/csv; charset=utf-8")
        return Response(resp.content,
                        content_type=resp.headers.get("Content-Type", "application/octet-stream"),
                        headers={"Content-Disposition": resp.headers.get(
                            "Content-Disposition", "attachment")})

    @bp.get("/upstream/<service>/<path:path>")
    @validate()
    def upstream_read(service: str, path: str) -> Response:
        """Read any /api/v1 endpoint of a service; "not available" and "down" are values."""
        svc, p = _forward_path(service, path)
        return ok(_backend().fetch(svc, p, params=request.args.to_dict(flat=False)))

    @bp.route("/upstream/<service>/<path:path>", methods=["POST", "PUT", "PATCH", "DELETE"])
    @validate(body_doc={"description": "forwarded to the service as is"})
    def upstream_action(service: str, path: str) -> Response:
        """Forward an action (with the suite's API key); the service's 4xx comes back as is."""
        svc, p = _forward_path(service, path)
        body = request.get_json(silent=True) if request.data else None
        slow = (svc, p) in SLOW_ACTIONS
        data = _backend().call(svc, request.method, p, json=body,
                               params=request.args.to_dict(flat=False),
                               headers={"X-Changed-By": f"dashboard ({request.remote_addr})"},
                               **({"timeout": SLOW_CALL_S} if slow else {}))
        return ok(data, status=201 if request.method == "POST" else 200)

    return [bp]


def _days(n: int) -> Any:
    import pandas as pd

    return pd.Timedelta(days=n)
