"""Pre-trade risk checks.  Each rejection carries a reason code and a message.

Checks apply to orders that add exposure (entries); orders that only reduce a position are
always let through except where they would sell short in an account that cannot.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from shared.errors import Forbidden

ZERO = Decimal(0)


class RiskRejection(Forbidden):
    """An order broke a risk rule (403); ``code`` is ``risk_<rule>``."""

    def __init__(self, rule: str, message: str) -> None:
        super().__init__(message, code=f"risk_{rule}", details={"reason": rule})
        self.rule = rule


@dataclass(frozen=True)
class RiskLimits:
    max_position_pct: Decimal | None = None
    max_order_notional: Decimal | None = None
    max_open_positions: int | None = None
    daily_loss_limit_usd: Decimal | None = None
    daily_loss_limit_pct: Decimal | None = None
    max_trades_per_day: int | None = None
    no_entry_minutes_before_close: int = 0

    @classmethod
    def from_settings(cls, section: object) -> RiskLimits:
        return cls(**{k: getattr(section, k) for k in cls.__dataclass_fields__})


@dataclass(frozen=True)
class RiskContext:
    """The account as the order meets it."""

    equity: Decimal
    buying_power: Decimal  # already net of what open orders reserve
    position_qty: Decimal  # signed, before this order
    open_positions: int
    tradable: bool = True
    shortable: bool = True
    margin: bool = True
    halted: bool = False
    trades_today: int = 0
    minutes_to_close: float | None = None  # None outside a session


@dataclass(frozen=True)
class OrderIntent:
    symbol: str
    signed_qty: Decimal  # + buy, - sell
    est_price: Decimal


def split(position: Decimal, signed_qty: Decimal) -> tuple[Decimal, Decimal]:
    """Return (closing, opening) shares of an order against a signed position."""
    if position == 0 or (position > 0) == (signed_qty > 0):
        return ZERO, abs(signed_qty)
    closing = min(abs(signed_qty), abs(position))
    return closing, abs(signed_qty) - closing


def daily_loss_breached(start_equity: Decimal, equity: Decimal, limits: RiskLimits) -> str | None:
    """Return a message when the session's loss reached a limit, else None."""
    loss = start_equity - equity
    if loss <= 0:
        return None
    if limits.daily_loss_limit_usd is not None and loss >= limits.daily_loss_limit_usd:
        return f"daily loss {loss} reached the limit of {limits.daily_loss_limit_usd}"
    if (limits.daily_loss_limit_pct is not None and start_equity > 0
            and loss / start_equity * 100 >= limits.daily_loss_limit_pct):
        return f"daily loss {loss} reached {limits.daily_loss_limit_pct}% of {start_equity}"
    return None


def check_order(intent: OrderIntent, ctx: RiskContext, limits: RiskLimits) -> None:
    """Pass silently or raise the first rule the order breaks.

    Raises:
        RiskRejection: naming the rule (``not_tradable``, ``not_shortable``, ``halted``,
            ``entry_window_closed``, ``max_trades_per_day``, ``max_order_notional``,
            ``max_open_positions``, ``max_position_pct``, ``buying_power``).
    """
    if not ctx.tradable:
        raise RiskRejection("not_tradable", f"{intent.symbol} is not tradable")
    _, opening = split(ctx.position_qty, intent.signed_qty)
    if opening == 0:
        return
    new_qty = ctx.position_qty + intent.signed_qty
    if new_qty < 0 and (not ctx.shortable or not ctx.margin):
        why = "a cash account cannot sell short" if ctx.margin is False else \
            f"{intent.symbol} is not shortable"
        raise RiskRejection("not_shortable", f"insufficient qty available for order: {why}")
    if ctx.halted:
        raise RiskRejection("halted", "new entries are halted for the rest of the session "
                                      "(daily loss limit)")
    if (limits.no_entry_minutes_before_close and ctx.minutes_to_close is not None
            and ctx.minutes_to_close <= limits.no_entry_minutes_before_close):
        raise RiskRejection("entry_window_closed",
                            f"no new entries in the last {limits.no_entry_minutes_before_close} "
                            "minutes of the session")
    if limits.max_trades_per_day is not None and ctx.trades_today >= limits.max_trades_per_day:
        raise RiskRejection("max_trades_per_day",
                            f"the limit of {limits.max_trades_per_day} trades per day was reached")
    notional = opening * intent.est_price
    if limits.max_order_notional is not None and notional > limits.max_order_notional:
        raise RiskRejection("max_order_notional",
                            f"order notional {notional:.2f} is over the limit of "
                            f"{limits.max_order_notional}")
    if (limits.max_open_positions is not None and ctx.position_qty == 0
            and ctx.open_positions >= limits.max_open_positions):
        raise RiskRejection("max_open_positions",
                            f"already {ctx.open_positions} open positions "
                            f"(limit {limits.max_open_positions})")
    if limits.max_position_pct is not None:
        cap = ctx.equity * limits.max_position_pct / 100
        if abs(new_qty) * intent.est_price > cap:
            raise RiskRejection("max_position_pct",
                                f"position would be {abs(new_qty) * intent.est_price:.2f}, over "
                                f"{limits.max_position_pct}% of equity ({cap:.2f})")
    if notional > ctx.buying_power:
        raise RiskRejection("buying_power",
                            f"insufficient buying power: order needs {notional:.2f}, "
                            f"available {ctx.buying_power:.2f}")
