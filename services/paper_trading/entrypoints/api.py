"""HTTP routes of the Paper trading service under /api/v1 (thin: parse, call one use case).

The event feed ``GET /api/v1/events/stream`` (Server-Sent Events) is served by the stream
server (``services.paper_trading.streaming``, its own port): an idle subscriber held a sync
worker for as long as it listened, so two took the service down.  Here it answers 307 there.
"""
from __future__ import annotations

import json
from decimal import Decimal
from typing import Any, Literal

from flask import Blueprint, Response, g, request
from pydantic import BaseModel, ConfigDict, Field

from services.paper_trading.adapters.repository import Repository
from services.paper_trading.entrypoints.common import is_submission
from services.paper_trading.service_layer.accounts import AUTOMATION
from services.paper_trading.service_layer.alpaca_models import (
    account_json,
    order_json,
    position_json,
)
from shared.db.bounds import DB_INT_MAX, db_int
from shared.errors import ValidationError
from shared.market.limits import MAX_SYMBOLS_PER_REQUEST
from shared.market.symbols import SymbolStr
from shared.trading.schemas import OrderRequest, ReplaceRequest
from shared.web import current_service, current_settings, ok, validate

_ACCOUNT = Field(None, max_length=128, description="the account's id or name "
                 "(default: the automation's)")


class ListOrdersQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = _ACCOUNT
    status: Literal["open", "closed", "all"] = "open"
    limit: int = Field(100, ge=1, le=1000)
    side: Literal["buy", "sell"] | None = None
    symbols: list[SymbolStr] | None = Field(None, max_length=MAX_SYMBOLS_PER_REQUEST)
    direction: Literal["asc", "desc"] = "desc"


class LimitQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = _ACCOUNT
    limit: int = Field(100, ge=1, le=1000)
    symbol: SymbolStr | None = Field(None, max_length=21)
    order_id: str | None = None
    before_id: int | None = Field(None, ge=1, le=DB_INT_MAX)


class ResetBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    starting_cash: Decimal | None = Field(None, gt=0, le=Decimal("1e12"))


class AccountBody(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(None, min_length=1, max_length=64)
    key_id: str | None = Field(None, min_length=1, max_length=128)
    secret: str | None = Field(None, min_length=8, max_length=256)
    starting_cash: Decimal | None = Field(None, gt=0, le=Decimal("1e12"))


class SyncBody(BaseModel):
    model_config = ConfigDict(extra="forbid")


class EventsQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = _ACCOUNT
    after: int = Field(0, ge=0, le=DB_INT_MAX)
    limit: int = Field(100, ge=1, le=1000)


class StreamQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = _ACCOUNT
    after: int | None = Field(None, ge=0, le=DB_INT_MAX)
    max_events: int | None = Field(None, ge=1, le=DB_INT_MAX)
    idle_timeout_s: float | None = Field(None, gt=0, le=3600)


def _svc() -> Any:
    return current_service()


def _acct() -> int:
    """Return the account this request acts on (resolved before the route runs)."""
    return g.get("account", AUTOMATION)


def resolve_account_arg() -> None:
    """Set ``g.account`` from the ``account`` query parameter (an id or a name).

    Without it a request acts on the automation's account, without a database read.

    Raises:
        NotFound: no such account.
    """
    ref = request.args.get("account")
    g.account = AUTOMATION if not ref else _svc().accounts.get(ref).id


def _event(row: Any) -> dict[str, Any]:
    return {"id": row["id"], "type": row["type"], "data": json.loads(row["payload"]),
            "created_at": row["created_at"]}


def blueprints() -> list[Blueprint]:
    """Return the /api/v1 blueprint (the Alpaca-compatible ones are ``alpaca_api``'s)."""
    bp = Blueprint("paper_trading", __name__, url_prefix="/api/v1")

    @bp.before_request
    def _process() -> None:
        resolve_account_arg()
        if not request.path.endswith("/events/stream") and not is_submission():
            _svc().maybe_process()

    @bp.post("/orders")
    @validate(body=OrderRequest, status=201, tags=["orders"], responses={403: "risk rejection"})
    def submit_order(body: OrderRequest) -> Response:
        """Submit an order (idempotent on client_order_id)."""
        return ok(order_json(_svc().submit_order(body, account=_acct())), status=201)

    @bp.get("/orders")
    @validate(query=ListOrdersQuery, tags=["orders"])
    def list_orders(query: ListOrdersQuery) -> Response:
        """List orders with their legs."""
        recs = _svc().list_orders(status=query.status, limit=query.limit, side=query.side,
                                  symbols=[s.upper() for s in query.symbols or []] or None,
                                  direction=query.direction, account=_acct())
        return ok([order_json(r) for r in recs])

    @bp.delete("/orders")
    @validate(tags=["orders"])
    def cancel_all() -> Response:
        """Cancel every open order."""
        return ok([order_json(r, False) for r in _svc().cancel_all(account=_acct())])

    @bp.get("/orders/<order_id>")
    @validate(tags=["orders"])
    def get_order(order_id: str) -> Response:
        """One order with its legs, its status history and, for a leg, its parent's id."""
        rec = _svc().get_order(order_id, account=_acct())
        data = order_json(rec)
        data["parent_id"] = rec.parent_id  # not in Alpaca's order; /v2 leaves it out
        data["events"] = _svc().order_events(order_id, account=_acct())
        return ok(data)

    @bp.delete("/orders/<order_id>")
    @validate(tags=["orders"])
    def cancel_order(order_id: str) -> Response:
        """Cancel one open order."""
        return ok(order_json(_svc().cancel_order(order_id, account=_acct())))

    @bp.patch("/orders/<order_id>")
    @validate(body=ReplaceRequest, tags=["orders"])
    def replace_order(order_id: str, body: ReplaceRequest) -> Response:
        """Replace (amend) an open order."""
        return ok(order_json(_svc().replace_order(order_id, body, account=_acct())))

    @bp.get("/positions")
    @validate(tags=["positions"])
    def positions() -> Response:
        """Open positions priced at the last visible close."""
        return ok([position_json(p) for p in _svc().positions(account=_acct())])

    @bp.get("/positions/<path:symbol>")
    @validate(tags=["positions"])
    def position(symbol: str) -> Response:
        """One open position."""
        return ok(position_json(_svc().position(symbol, account=_acct())))

    @bp.delete("/positions/<path:symbol>")
    @validate(tags=["positions"])
    def close_position(symbol: str) -> Response:
        """Close a position with a market order."""
        return ok(order_json(_svc().close_position(symbol, account=_acct())))

    @bp.get("/account")
    @validate(tags=["account"])
    def account() -> Response:
        """Cash, equity, market values, buying power, day trades."""
        return ok(account_json(_svc().account_snapshot(account=_acct()), _svc().cfg))

    @bp.post("/account/reset")
    @validate(body=ResetBody, tags=["account"])
    def reset(body: ResetBody) -> Response:
        """Cancel orders, drop positions, restore the starting balance."""
        return ok(account_json(_svc().reset(body.starting_cash, account=_acct()), _svc().cfg))

    @bp.get("/fills")
    @validate(query=LimitQuery, tags=["account"])
    def fills(query: LimitQuery) -> Response:
        """Fills, newest first."""
        return ok(_svc().fills(query.limit, query.symbol.upper() if query.symbol else None,
                               query.order_id, account=_acct()))

    @bp.get("/ledger")
    @validate(query=LimitQuery, tags=["account"])
    def ledger(query: LimitQuery) -> Response:
        """Cash ledger rows, newest first."""
        if query.symbol or query.order_id:
            raise ValidationError("ledger takes only limit and before_id", field="symbol")
        return ok(_svc().ledger(query.limit, query.before_id, account=_acct()))

    @bp.get("/risk")
    @validate(tags=["risk"])
    def risk() -> Response:
        """Risk state of the current session and the configured limits."""
        return ok(_svc().risk_state(account=_acct()))

    @bp.get("/invariants")
    @validate(tags=["account"])
    def invariants() -> Response:
        """Check the accounting invariants."""
        return ok(_svc().invariants(account=_acct()))

    @bp.get("/accounts")
    @validate(tags=["account"])
    def accounts() -> Response:
        """Every paper account: the automation's and one per Alpaca key id."""
        return ok([a.public() for a in _svc().accounts.all()])

    @bp.post("/accounts")
    @validate(body=AccountBody, status=201, tags=["account"])
    def create_account(body: AccountBody) -> Response:
        """Create an account (for a key id, optionally with a secret the key must present)."""
        return ok(_svc().accounts.create(name=body.name, key_id=body.key_id, secret=body.secret,
                                         starting_cash=body.starting_cash).public(), status=201)

    @bp.post("/clock/sync")
    @validate(body=SyncBody, tags=["clock"])
    def sync(body: SyncBody) -> Response:
        """Evaluate working orders against every bar visible on the market clock now."""
        return ok(_svc().process_until())

    @bp.get("/events")
    @validate(query=EventsQuery, tags=["events"])
    def events(query: EventsQuery) -> Response:
        """Trade events after an id (polling alternative to the stream)."""
        rows = Repository(_svc().get_db_connection(), _acct()).events_after(query.after,
                                                                          query.limit)
        return ok([_event(r) for r in rows])

    @bp.get("/events/stream")
    @validate(query=StreamQuery, tags=["events"], raw=True, mimetypes=("text/event-stream",),
              responses={307: "the stream server's URL of this feed (Location)"})
    def stream(query: StreamQuery) -> Response:
        """Server-Sent Events of order and fill events (resume with Last-Event-ID): answered
        by the stream server; this route redirects there (307, query and resume point kept)."""
        from shared.web.stream_urls import stream_location

        args = dict(request.args)
        header = request.headers.get("Last-Event-ID", "")
        if query.after is None and db_int(header) is not None:
            args["after"] = header
        url = stream_location(current_settings(), request.host, request.scheme,
                              "/api/v1/events/stream", args)
        return Response(status=307, headers={"Location": url, "Cache-Control": "no-store"})

    return [bp]
