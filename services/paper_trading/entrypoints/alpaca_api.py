"""The Alpaca-compatible routes (/v2 trading and market data, /v1beta1/news) for alpaca-py.

Bodies are Alpaca's raw objects (no envelope); errors are ``{"code": <8 digits>, "message"}``
(see ``alpaca_models.alpaca_error``).  No route ends with a slash: Flask would answer the SDK's
slash-less request with a redirect, which the SDK does not follow.
"""
from __future__ import annotations

import hmac
from decimal import Decimal
from typing import Literal

from flask import Blueprint, Response, g, request
from pydantic import BaseModel, ConfigDict, Field

from services.paper_trading.entrypoints.alpaca_account_api import account_routes
from services.paper_trading.entrypoints.alpaca_crypto_api import crypto_blueprint
from services.paper_trading.entrypoints.alpaca_data_api import data_blueprints
from services.paper_trading.entrypoints.alpaca_json import json_response as _json
from services.paper_trading.entrypoints.common import is_submission
from services.paper_trading.service_layer.account_config import account_flags
from services.paper_trading.service_layer.alpaca_models import (
    account_json,
    alpaca_error,
    asset_json,
    order_json,
    position_json,
)
from services.paper_trading.service_layer.service import PaperTradingService, asset_id_for
from shared.config import Settings
from shared.errors import AppError, AuthError, NotFound
from shared.market.limits import symbol_list
from shared.trading.schemas import OrderRequest, ReplaceRequest
from shared.web import current_service, validate


def check_alpaca_key(settings: Settings) -> None:
    """Require APCA-API-SECRET-KEY to equal the configured key (when one is configured).

    The key id (APCA-API-KEY-ID) names the account (see ``accounts``); the secret proves the
    caller may use the suite.

    Raises:
        AuthError: when a key is configured and the secret does not match (constant-time).
    """
    key = settings.security.api_key
    if key is None or not key.get_secret_value():
        return
    given = request.headers.get("APCA-API-SECRET-KEY", "").encode()
    if not hmac.compare_digest(given, key.get_secret_value().encode()):
        raise AuthError("access key verification failed", field="APCA-API-SECRET-KEY")


def _svc() -> PaperTradingService:
    return current_service()


def _acct() -> int:
    return g.account  # type: ignore[no-any-return]


def resolve_key_account() -> None:
    """Set ``g.account`` to the account of the request's APCA-API-KEY-ID (created on first use).

    Raises:
        AuthError: no or a malformed key id, or a secret that does not match the account's.
    """
    g.account = _svc().accounts.resolve(request.headers.get("APCA-API-KEY-ID", ""),
                                        request.headers.get("APCA-API-SECRET-KEY"))


class CalendarQuery(BaseModel):
    """Dates such as 2024-03-05 (or ISO times), within 1970-2200 (checked by the calendar)."""

    model_config = ConfigDict(extra="ignore")
    start: str | None = Field(None, max_length=40)
    end: str | None = Field(None, max_length=40)


class OrdersQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    status: Literal["open", "closed", "all"] = "open"
    limit: int = Field(50, ge=1, le=500)
    after: str | None = None
    until: str | None = None
    direction: Literal["asc", "desc"] = "desc"
    nested: bool = False
    side: Literal["buy", "sell"] | None = None
    symbols: str | None = None


class CloseQuery(BaseModel):
    model_config = ConfigDict(extra="ignore")
    qty: Decimal | None = Field(None, gt=0)
    percentage: Decimal | None = Field(None, gt=0, le=100)


def _symbols(text: str | None) -> list[str]:
    return symbol_list(text)


def _iso_arg(v: str | None) -> str | None:
    from shared.market.calendar import to_utc

    return None if v is None else to_utc(v).isoformat(timespec="microseconds")


def blueprints() -> list[Blueprint]:
    """Return the /v2, /v1beta1 and /v1beta3 (crypto data) blueprints."""
    v2 = Blueprint("alpaca_v2", __name__, url_prefix="/v2")
    v1b = Blueprint("alpaca_v1beta1", __name__, url_prefix="/v1beta1")

    @v2.before_request
    def _process() -> None:
        if not request.path.startswith(("/v2/stocks", "/v2/calendar", "/v2/clock",
                                        "/v2/assets")):
            resolve_key_account()
        if not is_submission():
            _svc().maybe_process()

    # -- account, clock, calendar, assets ----------------------------------------------------
    @v2.get("/account")
    @validate(summary="Alpaca: the account", tags=["alpaca"])
    def account() -> Response:
        snap = _svc().account_snapshot(account=_acct())
        return _json({**account_json(snap, _svc().cfg), **account_flags(snap.config, _svc().cfg)})

    @v2.get("/clock")
    @validate(summary="Alpaca: the market clock", tags=["alpaca"])
    def clock() -> Response:
        return _json(_svc().clock_view())

    @v2.get("/calendar")
    @validate(query=CalendarQuery, summary="Alpaca: trading sessions", tags=["alpaca"])
    def calendar(query: CalendarQuery) -> Response:
        return _json(_svc().calendar_view(query.start, query.end))

    @v2.get("/assets")
    @validate(summary="Alpaca: assets", tags=["alpaca"])
    def assets() -> Response:
        from services.paper_trading.adapters.asset_catalog import asset_rows

        a = request.args
        return _json([asset_json(r["symbol"], asset_id_for(r["symbol"]), r)
                      for r in asset_rows(_svc().db, a.get("status"), a.get("asset_class"),
                                          a.get("exchange"), a.get("attributes"))])

    @v2.get("/assets/<path:symbol>")
    @validate(summary="Alpaca: one asset", tags=["alpaca"])
    def asset(symbol: str) -> Response:
        svc = _svc()
        sym = symbol.upper()
        row = svc.db.fetch_one("SELECT * FROM symbols WHERE symbol = ?", (sym,))
        if row is not None:
            return _json(asset_json(sym, asset_id_for(sym), row))
        for r in svc.db.fetch_all("SELECT * FROM symbols"):
            if asset_id_for(r["symbol"]) == symbol.lower():
                return _json(asset_json(r["symbol"], symbol.lower(), r))
        if svc.db.fetch_one("SELECT 1 FROM bars WHERE symbol = ? LIMIT 1", (sym,)):
            return _json(asset_json(sym, asset_id_for(sym), None))
        raise NotFound(f"asset not found for {symbol}", field="symbol")

    # -- orders -----------------------------------------------------------------------------
    @v2.post("/orders")
    @validate(body=OrderRequest, summary="Alpaca: submit an order", tags=["alpaca"])
    def submit(body: OrderRequest) -> Response:
        return _json(order_json(_svc().submit_order(body, account=_acct())))

    @v2.get("/orders")
    @validate(query=OrdersQuery, summary="Alpaca: list orders", tags=["alpaca"])
    def orders(query: OrdersQuery) -> Response:
        recs = _svc().list_orders(status=query.status, limit=query.limit,
                                  after=_iso_arg(query.after), until=_iso_arg(query.until),
                                  direction=query.direction, side=query.side,
                                  symbols=_symbols(query.symbols) or None,
                                  account=_acct(), nested=query.nested)
        return _json([order_json(r, query.nested) for r in recs])

    @v2.delete("/orders")
    @validate(summary="Alpaca: cancel all open orders", tags=["alpaca"])
    def cancel_all() -> Response:
        return _json([{"id": r.id, "status": 200, "body": order_json(r, False)}
                      for r in _svc().cancel_all(account=_acct())], 207)

    @v2.get("/orders:by_client_order_id")
    @validate(summary="Alpaca: order by client_order_id", tags=["alpaca"])
    def by_client_id() -> Response:
        return _json(order_json(_svc().get_order_by_client_id(
            request.args.get("client_order_id", ""), account=_acct())))

    @v2.get("/orders/<order_id>")
    @validate(summary="Alpaca: one order", tags=["alpaca"])
    def get_order(order_id: str) -> Response:
        return _json(order_json(_svc().get_order(order_id, account=_acct())))

    @v2.delete("/orders/<order_id>")
    @validate(summary="Alpaca: cancel an order", tags=["alpaca"])
    def cancel(order_id: str) -> Response:
        _svc().cancel_order(order_id, account=_acct())
        return Response(status=204)

    @v2.patch("/orders/<order_id>")
    @validate(body=ReplaceRequest, summary="Alpaca: replace an order", tags=["alpaca"])
    def replace(order_id: str, body: ReplaceRequest) -> Response:
        return _json(order_json(_svc().replace_order(order_id, body, account=_acct())))

    # -- positions --------------------------------------------------------------------------
    @v2.get("/positions")
    @validate(summary="Alpaca: open positions", tags=["alpaca"])
    def positions() -> Response:
        return _json([position_json(p) for p in _svc().positions(account=_acct())])

    @v2.delete("/positions")
    @validate(summary="Alpaca: close all positions", tags=["alpaca"])
    def close_all() -> Response:
        cancel = request.args.get("cancel_orders", "false").lower() == "true"
        out = []
        for sym, res in _svc().close_all_positions(cancel, account=_acct()):
            if isinstance(res, AppError):
                out.append({"symbol": sym, "status": res.http_status,
                            "body": alpaca_error(res.code, res.message, None, res.http_status)})
            elif isinstance(res, Exception):
                out.append({"symbol": sym, "status": 500,
                            "body": {"code": 50010000, "message": str(res)}})
            else:
                out.append({"symbol": sym, "status": 200, "body": order_json(res),
                            "order_id": res.id})
        return _json(out, 207)

    @v2.get("/positions/<path:symbol>")
    @validate(summary="Alpaca: one position", tags=["alpaca"])
    def position(symbol: str) -> Response:
        return _json(position_json(_svc().position(symbol, account=_acct())))

    @v2.delete("/positions/<path:symbol>")
    @validate(query=CloseQuery, summary="Alpaca: close a position", tags=["alpaca"])
    def close(symbol: str, query: CloseQuery) -> Response:
        return _json(order_json(_svc().close_position(symbol, query.qty, query.percentage,
                                                      account=_acct())))

    account_routes(v2)
    return [v2, *data_blueprints(v2, v1b), crypto_blueprint()]


__all__ = ["alpaca_error", "blueprints", "check_alpaca_key"]
