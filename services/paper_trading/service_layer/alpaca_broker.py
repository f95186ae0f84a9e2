"""Broker mode ``alpaca``: forward the same operations to Alpaca's paper account.

``AlpacaBrokerService`` offers the use cases the API layer calls on ``PaperTradingService``
(account, orders, positions, clock, calendar) and answers them through alpaca-py's
``TradingClient``, mapping Alpaca's objects into our records so both ``/api/v1`` and the
Alpaca-compatible ``/v2`` serialize them as they do the simulator's.  Alpaca's 4xx answers
become ours with Alpaca's message (403 insufficient buying power stays a 403); 5xx answers,
timeouts and refused connections become a 503 (retryable), and one pybreaker breaker fails
fast while Alpaca is down.  The simulator-only use cases (reset, fills, ledger, risk state,
invariants, clock sync) answer 422.  Market data and news stay local.
"""
from __future__ import annotations

import warnings
from collections.abc import Callable
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pybreaker
import requests

from services.paper_trading.service_layer.snapshot import PricedPosition, Snapshot
from shared.config import Settings
from shared.db import DatabaseServiceMixin
from shared.domain.money import D
from shared.errors import (
    AppError,
    ConfigError,
    Conflict,
    Forbidden,
    NotFound,
    ServiceUnavailable,
    UnprocessableError,
    ValidationError,
)
from shared.http import breaker_for
from shared.market.calendar import get_calendar
from shared.trading import AccountFigures, Position
from shared.trading.records import OrderRecord, iso
from shared.trading.schemas import OrderRequest, ReplaceRequest

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns on import
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.enums import Sort
    from alpaca.common.exceptions import APIError
    from alpaca.trading import requests as areq
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, QueryOrderStatus
    from alpaca.trading.models import Order, TradeAccount
    from alpaca.trading.models import Position as AlpacaPosition

_BY_STATUS: dict[int, type[AppError]] = {400: ValidationError, 403: Forbidden, 404: NotFound,
                                         409: Conflict, 422: UnprocessableError}
_ORDER_TYPES = {"market": areq.MarketOrderRequest, "limit": areq.LimitOrderRequest,
                "stop": areq.StopOrderRequest, "stop_limit": areq.StopLimitOrderRequest,
                "trailing_stop": areq.TrailingStopOrderRequest}
_PRICE_FIELDS = ("limit_price", "stop_price", "trail_price", "trail_percent")


class RateLimited(ServiceUnavailable):
    """Alpaca answered 429: retry later."""

    http_status = 429


def _dec(v: Any) -> Decimal | None:
    return None if v in (None, "") else D(v)


def _val(e: Any) -> Any:
    return None if e is None else getattr(e, "value", e)


def order_record(o: Order) -> OrderRecord:
    """Return an Alpaca order (and its legs) as our order record."""
    filled = _dec(o.filled_qty) or Decimal(0)
    avg = _dec(o.filled_avg_price)
    return OrderRecord(
        id=str(o.id), client_order_id=o.client_order_id, symbol=o.symbol or "",
        asset_id=str(o.asset_id or ""), side=_val(o.side) or "", type=_val(o.type or o.order_type),
        time_in_force=_val(o.time_in_force), order_class=_val(o.order_class) or "simple",
        status=_val(o.status), active_from=iso(o.submitted_at) or "", created_at=o.created_at,
        updated_at=o.updated_at or o.created_at, submitted_at=o.submitted_at or o.created_at,
        qty=_dec(o.qty), notional=_dec(o.notional), filled_qty=filled,
        filled_notional=(avg * filled) if avg is not None else Decimal(0),
        limit_price=_dec(o.limit_price), stop_price=_dec(o.stop_price),
        trail_price=_dec(o.trail_price), trail_percent=_dec(o.trail_percent), hwm=_dec(o.hwm),
        extended_hours=bool(o.extended_hours), position_intent=_val(o.position_intent),
        expires_at=getattr(o, "expires_at", None), filled_at=o.filled_at,
        canceled_at=o.canceled_at, expired_at=o.expired_at, failed_at=o.failed_at,
        replaced_at=o.replaced_at, replaced_by=None if o.replaced_by is None else str(o.replaced_by),
        replaces=None if o.replaces is None else str(o.replaces), source="alpaca",
        legs=[order_record(leg) for leg in (o.legs or [])])


def priced_position(p: AlpacaPosition) -> PricedPosition:
    """Return an Alpaca position as ours (short positions carry a negative qty)."""
    qty = D(p.qty)
    if _val(p.side) == "short" and qty > 0:
        qty = -qty
    avg = D(p.avg_entry_price)
    price = _dec(p.current_price) or avg
    return PricedPosition(Position(p.symbol, qty, avg), str(p.asset_id), price,
                          _dec(p.lastday_price) or price)


def account_snapshot(a: TradeAccount, positions: list[PricedPosition]) -> Snapshot:
    """Return Alpaca's account figures as our snapshot."""
    z = Decimal(0)
    fig = AccountFigures(
        cash=_dec(a.cash) or z, equity=_dec(a.equity) or z,
        long_market_value=_dec(a.long_market_value) or z,
        short_market_value=_dec(a.short_market_value) or z,
        regt_buying_power=_dec(a.regt_buying_power) or z,
        daytrading_buying_power=_dec(a.daytrading_buying_power) or z,
        buying_power=_dec(a.buying_power) or z, initial_margin=_dec(a.initial_margin) or z,
        maintenance_margin=_dec(a.maintenance_margin) or z,
        multiplier=_dec(a.multiplier) or Decimal(1))
    return Snapshot(
        account=1, account_id=str(a.id), account_number=a.account_number, epoch=0,
        start_cash=fig.equity,
        figures=fig, positions=positions, session=None,
        last_equity=_dec(a.last_equity) or fig.equity, daytrade_count=a.daytrade_count or 0,
        created_at=iso(a.created_at) or "", halted=bool(a.trading_blocked), entries_today=0,
        reserved=z)


def _float(v: Decimal | None) -> float | None:
    return None if v is None else float(v)


def order_request(req: OrderRequest) -> areq.OrderRequest:
    """Return our validated order as the alpaca-py request of its type."""
    kw: dict[str, Any] = {
        "symbol": req.symbol, "side": req.side, "time_in_force": req.time_in_force,
        "qty": _float(req.qty), "notional": _float(req.notional),
        "extended_hours": req.extended_hours or None, "client_order_id": req.client_order_id,
        "position_intent": req.position_intent}
    if req.order_class not in ("simple", ""):
        kw["order_class"] = req.order_class
    if req.take_profit is not None:
        kw["take_profit"] = areq.TakeProfitRequest(limit_price=float(req.take_profit.limit_price))
    if req.stop_loss is not None:
        kw["stop_loss"] = areq.StopLossRequest(stop_price=float(req.stop_loss.stop_price),
                                               limit_price=_float(req.stop_loss.limit_price))
    for name in _PRICE_FIELDS:
        if getattr(req, name) is not None:
            kw[name] = float(getattr(req, name))
    return _ORDER_TYPES[req.type](**{k: v for k, v in kw.items() if v is not None})


class _OneAccount:
    """The account directory of the forwarding broker: every key id is Alpaca's one paper
    account (the keys in the settings), the suite's account 1."""

    def resolve(self, key_id: str, secret: str | None) -> int:
        return 1

    def get(self, ref: int | str) -> Any:
        if str(ref) not in ("1", "automation"):
            raise AlpacaBrokerService._simulator_only("an account per key id")
        return None

    def all(self) -> list[Any]:
        raise AlpacaBrokerService._simulator_only("the account list")

    def create(self, **_: Any) -> Any:
        raise AlpacaBrokerService._simulator_only("creating accounts")


class AlpacaBrokerService(DatabaseServiceMixin):
    """The use cases of ``PaperTradingService``, answered by Alpaca's paper account."""

    def __init__(self, settings: Settings, *, now: Callable[[], datetime] | None = None,
                 client: TradingClient | None = None) -> None:
        """Connect to Alpaca (nothing is sent until a request needs it).

        Raises:
            ConfigError: when ``alpaca.api_key`` / ``alpaca.secret_key`` are not set.
        """
        from services.paper_trading.service_layer.service import default_clock

        self.settings = settings
        self.cfg = settings.paper_trading
        self.init_database(settings)
        self.cal = get_calendar(settings.market.calendar)
        self._now = now or default_clock(settings, self.db)
        a = settings.alpaca
        if client is None:
            if not a.configured:
                raise ConfigError("paper_trading.broker 'alpaca' needs alpaca.api_key and "
                                  "alpaca.secret_key (ALPACA_API_KEY / ALPACA_SECRET_KEY)",
                                  field="alpaca.api_key")
            client = TradingClient(a.api_key.get_secret_value(),  # type: ignore[union-attr]
                                   a.secret_key.get_secret_value(),  # type: ignore[union-attr]
                                   paper=a.paper, url_override=a.trading_url or None)
        # No sleeping retries inside a request (the SDK sleeps 3 s per 429/504 retry): the
        # caller gets a 429/503 and retries.  And a timeout: the SDK sets none.
        client._retry = 0
        session, timeout = client._session, settings.http.timeout_s
        send = session.request
        session.request = lambda method, url, **kw: send(  # type: ignore[method-assign]
            method, url, **{"timeout": timeout, **kw})
        self.client = client
        self.accounts = _OneAccount()
        self.breaker = breaker_for("alpaca_trading", settings.http.breaker_fail_max,
                                   settings.http.breaker_reset_s)

    # -- plumbing -------------------------------------------------------------------------
    def now(self) -> datetime:
        return self._now()

    def maybe_process(self) -> None:
        """Nothing to sweep: Alpaca fills the orders."""

    def _call(self, fn: Callable[[], Any]) -> Any:
        """Run one SDK call; translate Alpaca's errors into ours.

        Raises:
            ValidationError / Forbidden / NotFound / Conflict / UnprocessableError: Alpaca's
                4xx with its message.  RateLimited: 429.  ServiceUnavailable: 5xx, timeout,
                connection refused, keys refused (401), or the breaker is open.
        """
        def guarded() -> Any:
            try:
                return True, fn()
            except APIError as exc:
                if (exc.status_code or 500) < 500:
                    return False, exc  # the caller's error, not Alpaca being down
                raise

        try:
            ok, value = self.breaker.call(guarded)
        except pybreaker.CircuitBreakerError:
            raise ServiceUnavailable("Alpaca is unavailable (circuit open); retry later",
                                     code="alpaca_unavailable") from None
        except APIError as exc:
            raise ServiceUnavailable(f"Alpaca answered {exc.status_code}: {_message(exc)}",
                                     code="alpaca_unavailable") from None
        except requests.RequestException as exc:
            raise ServiceUnavailable(f"Alpaca could not be reached: {type(exc).__name__}",
                                     code="alpaca_unavailable") from None
        if ok:
            return value
        status = value.status_code
        if status == 429:
            raise RateLimited("Alpaca rate limit reached; retry later", code="alpaca_rate_limited")
        if status == 401:
            raise ServiceUnavailable("Alpaca refused the configured keys",
                                     code="alpaca_auth") from None
        cls = _BY_STATUS.get(status, UnprocessableError)
        raise cls(_message(value), code=f"alpaca_{status}")

    def _one_account(self, account: int) -> None:
        """Refuse every account but the automation's: Alpaca's paper account is one account.

        Raises:
            UnprocessableError: for any other account (a bot with its own keys talks to Alpaca
                directly, or to the simulator).
        """
        if account != 1:
            raise self._simulator_only("an account per key id")

    @staticmethod
    def _simulator_only(what: str) -> UnprocessableError:
        return UnprocessableError(f"{what} is only available with the paper simulator "
                                  "(paper_trading.broker: paper)", field="paper_trading.broker")

    # -- account and positions --------------------------------------------------------------
    def account_snapshot(self, *, account: int = 1) -> Snapshot:
        self._one_account(account)
        return account_snapshot(self._call(self.client.get_account), [])

    def positions(self, *, account: int = 1) -> list[PricedPosition]:
        self._one_account(account)
        return [priced_position(p) for p in self._call(self.client.get_all_positions)]

    def position(self, symbol_or_id: str, *, account: int = 1) -> PricedPosition:
        self._one_account(account)
        return priced_position(self._call(lambda: self.client.get_open_position(symbol_or_id)))

    def close_position(self, symbol_or_id: str, qty: Decimal | None = None,
                       percentage: Decimal | None = None, *, account: int = 1) -> OrderRecord:
        self._one_account(account)
        if qty is not None and percentage is not None:
            raise ValidationError("give qty or percentage, not both", field="qty")
        opts = areq.ClosePositionRequest(qty=None if qty is None else str(qty),
                                         percentage=None if percentage is None else str(percentage)
                                         ) if (qty or percentage) else None
        return order_record(self._call(lambda: self.client.close_position(symbol_or_id, opts)))

    def close_all_positions(self, cancel_orders: bool = False, *,
                            account: int = 1) -> list[tuple[str, Any]]:
        self._one_account(account)
        out: list[tuple[str, Any]] = []
        for r in self._call(lambda: self.client.close_all_positions(cancel_orders)):
            body = r.body
            if isinstance(body, Order):
                out.append((r.symbol, order_record(body)))
            else:
                status = r.status or 422
                out.append((r.symbol, _BY_STATUS.get(status, UnprocessableError)(
                    getattr(body, "message", "close failed"), code=f"alpaca_{status}")))
        return out

    # -- orders ---------------------------------------------------------------------------
    def submit_order(self, req: OrderRequest, *, account: int = 1) -> OrderRecord:
        self._one_account(account)
        request = order_request(req)
        return order_record(self._call(lambda: self.client.submit_order(request)))

    def get_order(self, order_id: str, *, account: int = 1) -> OrderRecord:
        self._one_account(account)
        return order_record(self._call(lambda: self.client.get_order_by_id(
            order_id, areq.GetOrderByIdRequest(nested=True))))

    def get_order_by_client_id(self, cid: str, *, account: int = 1) -> OrderRecord:
        self._one_account(account)
        return order_record(self._call(lambda: self.client.get_order_by_client_id(cid)))

    def order_events(self, order_id: str, *, account: int = 1) -> list[dict[str, Any]]:
        return []  # Alpaca keeps no per-order status history we could read

    def list_orders(self, *, status: str = "open", limit: int = 50, after: str | None = None,
                    until: str | None = None, direction: str = "desc", side: str | None = None,
                    symbols: list[str] | None = None, account: int = 1,
                    nested: bool = True) -> list[OrderRecord]:
        self._one_account(account)
        f = areq.GetOrdersRequest(
            status=QueryOrderStatus(status), limit=limit, direction=Sort(direction), nested=nested,
            after=None if after is None else datetime.fromisoformat(after),
            until=None if until is None else datetime.fromisoformat(until),
            side=None if side is None else OrderSide(side), symbols=symbols)
        return [order_record(o) for o in self._call(lambda: self.client.get_orders(f))]

    def cancel_order(self, order_id: str, *, account: int = 1) -> OrderRecord:
        self._one_account(account)
        self._call(lambda: self.client.cancel_order_by_id(order_id))
        return self.get_order(order_id)

    def cancel_all(self, *, account: int = 1) -> list[OrderRecord]:
        self._one_account(account)
        out = []
        for r in self._call(self.client.cancel_orders):
            body = r.body if isinstance(r.body, dict) and "client_order_id" in r.body else None
            out.append(order_record(Order(**body)) if body else self.get_order(str(r.id)))
        return out

    def replace_order(self, order_id: str, req: ReplaceRequest, *,
                      account: int = 1) -> OrderRecord:
        self._one_account(account)
        if req.qty is not None and req.qty != req.qty.to_integral_value():
            raise ValidationError("Alpaca replaces whole-share quantities only", field="qty")
        r = areq.ReplaceOrderRequest(
            qty=None if req.qty is None else int(req.qty), time_in_force=req.time_in_force,
            limit_price=_float(req.limit_price), stop_price=_float(req.stop_price),
            trail=_float(req.trail), client_order_id=req.client_order_id)
        return order_record(self._call(lambda: self.client.replace_order_by_id(order_id, r)))

    # -- clock and calendar ---------------------------------------------------------------
    def clock_view(self) -> dict[str, Any]:
        c = self._call(self.client.get_clock)
        return {"timestamp": c.timestamp.isoformat(), "is_open": c.is_open,
                "next_open": c.next_open.isoformat(), "next_close": c.next_close.isoformat()}

    def calendar_view(self, start: str | None, end: str | None) -> list[dict[str, Any]]:
        f = areq.GetCalendarRequest(start=None if start is None else date.fromisoformat(start),
                                    end=None if end is None else date.fromisoformat(end))
        return [{"date": d.date.isoformat(), "open": d.open.strftime("%H:%M"),
                 "close": d.close.strftime("%H:%M")} for d in self._call(
            lambda: self.client.get_calendar(f))]

    # -- simulator-only use cases ---------------------------------------------------------
    def reset(self, starting_cash: Decimal | None = None, *, account: int = 1) -> Snapshot:
        raise self._simulator_only("account reset")

    def fills(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        raise self._simulator_only("the fill list")

    def ledger(self, *args: Any, **kwargs: Any) -> list[dict[str, Any]]:
        raise self._simulator_only("the cash ledger")

    def risk_state(self, *, account: int = 1) -> dict[str, Any]:
        raise self._simulator_only("the risk state")

    def invariants(self, *, account: int = 1) -> dict[str, Any]:
        raise self._simulator_only("the accounting invariants")

    def process_until(self, now: datetime | None = None) -> dict[str, int]:
        raise self._simulator_only("clock sync")


def _message(exc: APIError) -> str:
    try:
        return str(exc.message)
    except (ValueError, KeyError, TypeError):  # not Alpaca's JSON error body
        return str(exc)[:200] or f"HTTP {exc.status_code}"


__all__ = ["AlpacaBrokerService", "RateLimited", "account_snapshot", "order_record",
           "order_request", "priced_position"]
