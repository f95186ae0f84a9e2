"""The fill rules: what one bar does to one working order.

An order submitted at clock time t is only shown bars that open at or after t (so they close
after t and none of their prices predate the order).  Within a bar the order of the high and
the low is unknown, so the rules are conservative: a stop triggered and a limit reached in the
same bar fill only if the trigger price itself satisfies the limit, and a trailing stop checks
its trigger against the high-water mark of *earlier* bars before raising the mark.
"""
from __future__ import annotations

from decimal import Decimal

from shared.trading.costs import (
    ZERO,
    Costs,
    price_q,
    shares_for_notional,
    slipped,
    volume_cap,
)
from shared.trading.types import (
    Bar,
    Decision,
    OrderState,
    OrderType,
    Side,
    TimeInForce,
)


def limit_fill_price(side: Side, limit: Decimal, bar: Bar) -> Decimal | None:
    """Return where a limit order fills in ``bar``: the open if better, else the limit, or None."""
    if side is Side.BUY:
        return min(bar.open, limit) if bar.low <= limit else None
    return max(bar.open, limit) if bar.high >= limit else None


def stop_trigger_price(side: Side, stop: Decimal, bar: Bar) -> Decimal | None:
    """Return the reference price of a stop reached in ``bar`` (stop, or a worse gap open)."""
    if side is Side.BUY:
        return max(bar.open, stop) if bar.high >= stop else None
    return min(bar.open, stop) if bar.low <= stop else None


def trailing_stop_level(side: Side, hwm: Decimal, o: OrderState) -> Decimal:
    """Return the stop price implied by the high (sell) or low (buy) water mark."""
    if o.trail_price is not None:
        offset = o.trail_price
    else:
        offset = hwm * (o.trail_percent or ZERO) / 100
    return price_q(hwm - offset if side is Side.SELL else hwm + offset)


def _marketable(o: OrderState, bar: Bar, costs: Costs) -> tuple[Decimal | None, bool, Decimal | None,
                                                                Decimal | None]:
    """Return (price, triggered, hwm, stop) for this bar ignoring quantity."""
    side = o.side
    if o.type is OrderType.MARKET:
        return slipped(side, bar.open, bar, costs), False, None, None
    if o.type is OrderType.LIMIT:
        return limit_fill_price(side, o.limit, bar), False, None, None  # type: ignore[arg-type]
    if o.type is OrderType.STOP:
        ref = stop_trigger_price(side, o.stop, bar)  # type: ignore[arg-type]
        return (None if ref is None else slipped(side, ref, bar, costs)), ref is not None, None, None
    if o.type is OrderType.STOP_LIMIT:
        if o.triggered:
            return limit_fill_price(side, o.limit, bar), True, None, None  # type: ignore[arg-type]
        ref = stop_trigger_price(side, o.stop, bar)  # type: ignore[arg-type]
        if ref is None:
            return None, False, None, None
        # Triggered in this bar: fill now only if the trigger price already meets the limit;
        # otherwise it rests as a limit order from the next bar on.
        ok = ref <= o.limit if side is Side.BUY else ref >= o.limit  # type: ignore[operator]
        return (ref if ok else None), True, None, None
    # trailing stop
    hwm = o.hwm if o.hwm is not None else bar.open
    stop = trailing_stop_level(side, hwm, o)
    ref = stop_trigger_price(side, stop, bar)
    if ref is not None:
        return slipped(side, ref, bar, costs), True, hwm, stop
    new_hwm = max(hwm, bar.high) if side is Side.SELL else min(hwm, bar.low)
    return None, False, new_hwm, trailing_stop_level(side, new_hwm, o)


def _tif_price(o: OrderState, bar: Bar, costs: Costs) -> tuple[Decimal | None, str | None]:
    """Return the opg/cls auction price for ``bar`` and a cancel reason when it is missed."""
    if o.target_bar is None or bar.ts > o.target_bar:
        return None, f"{o.tif.value}_missed"
    if bar.ts < o.target_bar:
        return None, None
    ref = bar.open if o.tif is TimeInForce.OPG else bar.close
    if o.type is OrderType.LIMIT:
        ok = ref <= o.limit if o.side is Side.BUY else ref >= o.limit  # type: ignore[operator]
        return (ref if ok else None), (None if ok else f"{o.tif.value}_limit_not_reached")
    # The auction prints one price: no slippage inside the bar's range is modelled.
    return ref, None


def evaluate(o: OrderState, bar: Bar, costs: Costs) -> Decision:
    """Return what ``bar`` does to working order ``o`` (pure; prices and quantities exact).

    Raises:
        ValueError: when the order lacks the price its type needs.
    """
    if o.type in (OrderType.LIMIT, OrderType.STOP_LIMIT) and o.limit is None:
        raise ValueError(f"{o.type.value} order without limit_price")
    if o.type in (OrderType.STOP, OrderType.STOP_LIMIT) and o.stop is None:
        raise ValueError(f"{o.type.value} order without stop_price")
    if o.type is OrderType.TRAILING_STOP and o.trail_price is None and o.trail_percent is None:
        raise ValueError("trailing_stop order without trail_price or trail_percent")

    if o.tif in (TimeInForce.OPG, TimeInForce.CLS):
        price, why = _tif_price(o, bar, costs)
        triggered, hwm, stop = False, None, None
        if why is not None:
            return Decision(cancel_reason=why)
    else:
        price, triggered, hwm, stop = _marketable(o, bar, costs)
    immediate = o.tif in (TimeInForce.IOC, TimeInForce.FOK)
    if price is None:
        reason = f"{o.tif.value}_not_marketable" if immediate and o.first_bar else None
        return Decision(triggered=triggered, hwm=hwm, stop=stop, cancel_reason=reason)

    want = o.remaining
    if want is None:
        want = shares_for_notional(o.notional or ZERO, price, o.fractionable)
        if want <= 0:
            return Decision(cancel_reason="notional_below_one_share")
    cap = volume_cap(bar.volume, costs, o.fractionable)
    qty = want if cap is None else min(want, cap)
    if o.tif is TimeInForce.FOK and qty < want:
        return Decision(cancel_reason="fok_not_fillable_in_full")
    reason = "ioc_remainder" if o.tif is TimeInForce.IOC and qty < want else None
    if qty <= 0:
        return Decision(triggered=triggered, hwm=hwm, stop=stop, cancel_reason=reason)
    return Decision(qty=qty, price=price, triggered=triggered, hwm=hwm, stop=stop,
                    cancel_reason=reason)
