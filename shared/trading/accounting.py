"""Positions built from fills, and the account figures derived from cash and positions.

Cash only ever moves through ledger amounts (fill notional, commission, reset) rounded to the
cent, so ``cash == start + sum(ledger)`` holds exactly; average prices and P&L are bookkeeping
on top and never feed back into cash.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import ROUND_HALF_EVEN, Decimal

from shared.trading.costs import CENT, ZERO, price_q
from shared.trading.types import Side


@dataclass(frozen=True)
class Position:
    """A signed position (negative = short) with its average entry price."""

    symbol: str
    qty: Decimal = ZERO
    avg_entry: Decimal = ZERO
    realized: Decimal = ZERO

    @property
    def side(self) -> str:
        return "long" if self.qty >= 0 else "short"

    @property
    def cost_basis(self) -> Decimal:
        return abs(self.qty) * self.avg_entry

    def market_value(self, price: Decimal) -> Decimal:
        return self.qty * price

    def unrealized(self, price: Decimal) -> Decimal:
        return self.qty * (price - self.avg_entry)


@dataclass(frozen=True)
class FillEffect:
    """What one fill did: the new position, realized P&L, and the opening/closing split."""

    position: Position
    realized: Decimal
    opened: Decimal  # shares that opened or added to exposure
    closed: Decimal  # shares that reduced exposure
    cash: Decimal  # signed cash movement of the fill notional (before commission)


def fill_cash(side: Side, qty: Decimal, price: Decimal,
              quantum: Decimal | None = CENT) -> Decimal:
    """Return the cash a fill moves: buys pay, sells receive; rounded to ``quantum`` (the
    cent, as a broker books it; None keeps it exact, as a backtest of 5-decimal prices needs)."""
    cash = -side.sign * qty * price
    return cash if quantum is None else cash.quantize(quantum, rounding=ROUND_HALF_EVEN)


def apply_fill(pos: Position, side: Side, qty: Decimal, price: Decimal,
               quantum: Decimal | None = CENT) -> FillEffect:
    """Return ``pos`` after a fill: adds average in, reductions realize P&L, flips reopen.
    Cash and realized P&L are rounded to ``quantum`` (None: exact).

    Raises:
        ValueError: when ``qty`` or ``price`` is not positive.
    """
    if qty <= 0 or price <= 0:
        raise ValueError(f"a fill needs a positive qty and price, got {qty} @ {price}")
    signed = side.sign * qty
    q0 = pos.qty
    if q0 == 0 or (q0 > 0) == (signed > 0):
        new_qty = q0 + signed
        avg = price_q((abs(q0) * pos.avg_entry + qty * price) / abs(new_qty))
        return FillEffect(replace(pos, qty=new_qty, avg_entry=avg), ZERO, qty, ZERO,
                          fill_cash(side, qty, price, quantum))
    closed = min(qty, abs(q0))
    direction = 1 if q0 > 0 else -1
    realized = closed * (price - pos.avg_entry) * direction
    if quantum is not None:
        realized = realized.quantize(quantum, ROUND_HALF_EVEN)
    new_qty = q0 + signed
    opened = qty - closed
    if new_qty == 0:
        new = replace(pos, qty=ZERO, avg_entry=ZERO, realized=pos.realized + realized)
    elif opened > 0:  # flipped through zero: the remainder opens at the fill price
        new = replace(pos, qty=new_qty, avg_entry=price, realized=pos.realized + realized)
    else:
        new = replace(pos, qty=new_qty, realized=pos.realized + realized)
    return FillEffect(new, realized, opened, closed, fill_cash(side, qty, price, quantum))


@dataclass(frozen=True)
class AccountFigures:
    cash: Decimal
    equity: Decimal
    long_market_value: Decimal
    short_market_value: Decimal
    regt_buying_power: Decimal
    daytrading_buying_power: Decimal
    buying_power: Decimal
    initial_margin: Decimal
    maintenance_margin: Decimal
    multiplier: Decimal


def account_figures(cash: Decimal, positions: list[tuple[Position, Decimal]], *, margin: bool,
                    overnight: Decimal, intraday: Decimal, pdt_threshold: Decimal,
                    in_session: bool) -> AccountFigures:
    """Return equity, market values and buying power for cash and ``(position, price)`` pairs.

    A cash account's buying power is its cash.  A margin account gets ``overnight`` x equity
    less gross exposure (Reg T), or ``intraday`` x during a session when equity is at least the
    pattern-day-trader threshold.
    """
    long_mv = sum((p.market_value(px) for p, px in positions if p.qty > 0), ZERO)
    short_mv = sum((p.market_value(px) for p, px in positions if p.qty < 0), ZERO)
    equity = (cash + long_mv + short_mv).quantize(CENT, ROUND_HALF_EVEN)
    gross = long_mv - short_mv
    if not margin:
        bp = max(cash, ZERO)
        return AccountFigures(cash, equity, long_mv, short_mv, bp, ZERO, bp, long_mv,
                              long_mv, Decimal(1))
    regt = max(equity * overnight - gross, ZERO).quantize(CENT, ROUND_HALF_EVEN)
    dt = ZERO
    if equity >= pdt_threshold:
        dt = max(equity * intraday - gross, ZERO).quantize(CENT, ROUND_HALF_EVEN)
    bp = dt if (in_session and equity >= pdt_threshold) else regt
    mult = intraday if equity >= pdt_threshold else overnight
    init = (gross / overnight).quantize(CENT, ROUND_HALF_EVEN)
    maint = (gross * Decimal("0.25")).quantize(CENT, ROUND_HALF_EVEN)
    return AccountFigures(cash, equity, long_mv, short_mv, regt, dt, bp, init, maint, mult)
