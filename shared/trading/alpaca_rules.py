"""Alpaca's order rules that a well-formed request can still break (each a 422, as Alpaca
answers them), checked before an order is stored.  Pure functions over the request, the
market clock's now and the reference price; no database.

- quantities: qty and notional above zero; qty in the store's six decimals;
- prices: at most two decimals at or above $1.00 and four below ("sub-penny increment does
  not fulfill minimum pricing criteria");
- fractional and notional orders are day orders;
- brackets: the take-profit above the stop-loss and on the profitable side of the entry
  (for a buy: take_profit.limit_price >= base + 0.01, stop_loss.stop_price <= base - 0.01,
  where base is the entry's limit price or, for a market entry, the last price);
- opg orders are taken from 19:00 to 09:28 New York time, cls orders until 15:50.
"""
from __future__ import annotations

from datetime import datetime, time
from decimal import Decimal
from zoneinfo import ZoneInfo

from shared.errors import UnprocessableError
from shared.trading.schemas import OrderRequest

NEW_YORK = ZoneInfo("America/New_York")
_CENT = Decimal("0.01")
_QTY_PLACES = 6  # the store's micro-units
_OPG_FROM, _OPG_UNTIL = time(19, 0), time(9, 28)
_CLS_UNTIL = time(15, 50)


def _places(v: Decimal) -> int:
    exp = v.normalize().as_tuple().exponent
    return max(0, -exp) if isinstance(exp, int) else 0


def check_price(value: Decimal | None, field: str) -> None:
    """Refuse a price with more decimals than Alpaca's tick (two from $1.00, four below).

    Raises:
        UnprocessableError: naming ``field``.
    """
    if value is None:
        return
    allowed = 2 if value >= 1 else 4
    if _places(value) > allowed:
        raise UnprocessableError(
            f"invalid {field} {value}. sub-penny increment does not fulfill minimum pricing "
            f"criteria", field=field)


def check_quantities(req: OrderRequest) -> None:
    """Raises: UnprocessableError for qty/notional <= 0, too many qty decimals, or a
    fractional/notional order that is not a day order."""
    if req.qty is not None:
        if req.qty <= 0:
            raise UnprocessableError("qty must be > 0", field="qty")
        if _places(req.qty) > _QTY_PLACES:
            raise UnprocessableError(f"qty must have at most {_QTY_PLACES} decimal places",
                                     field="qty")
    if req.notional is not None:
        if req.notional <= 0:
            raise UnprocessableError("notional must be > 0", field="notional")
        if _places(req.notional) > 2:
            raise UnprocessableError("notional must be in whole cents", field="notional")
    fractional = req.notional is not None or (req.qty is not None and req.qty % 1 != 0)
    if fractional and req.time_in_force != "day" and "/" not in req.symbol:
        raise UnprocessableError("fractional orders must be DAY orders", field="time_in_force")


def check_prices(req: OrderRequest) -> None:
    """Raises: UnprocessableError for a sub-penny price anywhere in the order."""
    check_price(req.limit_price, "limit_price")
    check_price(req.stop_price, "stop_price")
    check_price(req.trail_price, "trail_price")
    if req.take_profit is not None:
        check_price(req.take_profit.limit_price, "take_profit.limit_price")
    if req.stop_loss is not None:
        check_price(req.stop_loss.stop_price, "stop_loss.stop_price")
        check_price(req.stop_loss.limit_price, "stop_loss.limit_price")


def check_exits(req: OrderRequest, last: Decimal | None) -> None:
    """Check a bracket/OTO's exits against its entry (``last``: the last visible price).

    Raises:
        UnprocessableError: an exit on the wrong side of the entry or of the other exit.
    """
    cls_ = req.order_class or "simple"
    if cls_ not in ("bracket", "oto"):
        if cls_ == "oco" and req.take_profit and req.stop_loss:
            tp, sl = req.take_profit.limit_price, req.stop_loss.stop_price
            if (req.side == "sell" and tp <= sl) or (req.side == "buy" and tp >= sl):
                raise UnprocessableError(
                    f"take_profit.limit_price must be {'>' if req.side == 'sell' else '<'} "
                    f"stop_loss.stop_price", field="take_profit.limit_price")
        return
    base = req.limit_price if req.type in ("limit", "stop_limit") else (req.stop_price or last)
    buy = req.side == "buy"
    tp = req.take_profit.limit_price if req.take_profit else None
    sl = req.stop_loss.stop_price if req.stop_loss else None
    if tp is not None and sl is not None and (tp <= sl if buy else tp >= sl):
        raise UnprocessableError(
            f"take_profit.limit_price must be {'>' if buy else '<'} stop_loss.stop_price",
            field="take_profit.limit_price")
    if base is None:
        return
    if tp is not None and (tp < base + _CENT if buy else tp > base - _CENT):
        edge = base + _CENT if buy else base - _CENT
        raise UnprocessableError(
            f"take_profit.limit_price must be {'>=' if buy else '<='} base_price "
            f"{'+' if buy else '-'} 0.01 ({edge})", field="take_profit.limit_price")
    if sl is not None and (sl > base - _CENT if buy else sl < base + _CENT):
        edge = base - _CENT if buy else base + _CENT
        raise UnprocessableError(
            f"stop_loss.stop_price must be {'<=' if buy else '>='} base_price "
            f"{'-' if buy else '+'} 0.01 ({edge})", field="stop_loss.stop_price")


def check_auction_window(req: OrderRequest, now: datetime) -> None:
    """Raises: UnprocessableError for an opg order from 09:28 to 19:00 New York time, or a
    cls order after 15:50."""
    if "/" in req.symbol:
        return
    t = now.astimezone(NEW_YORK).time()
    if req.time_in_force == "opg" and _OPG_UNTIL <= t < _OPG_FROM:
        raise UnprocessableError("opg orders are accepted from 19:00 to 09:28 New York time",
                                 field="time_in_force")
    if req.time_in_force == "cls" and _CLS_UNTIL <= t < _OPG_FROM:
        raise UnprocessableError("cls orders are accepted until 15:50 New York time",
                                 field="time_in_force")


def check_request(req: OrderRequest, now: datetime, last: Decimal | None) -> None:
    """Every rule above, in the order Alpaca reports them."""
    check_quantities(req)
    check_prices(req)
    check_auction_window(req, now)
    check_exits(req, last)


__all__ = ["check_auction_window", "check_exits", "check_price", "check_prices",
           "check_quantities", "check_request"]
