"""Slippage and commission: the configurable frictions applied to fills."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, ROUND_HALF_EVEN, Decimal

from shared.trading.types import Bar, Side

MICRO = Decimal("0.000001")
CENT = Decimal("0.01")
ZERO = Decimal(0)


@dataclass(frozen=True)
class Costs:
    """Slippage and commission settings (see ``paper_trading.fills`` in the settings)."""

    slippage_model: str = "bps"
    slippage_bps: Decimal = ZERO
    slippage_range_fraction: Decimal = ZERO
    commission_per_share: Decimal = ZERO
    commission_per_order: Decimal = ZERO
    commission_percent: Decimal = ZERO
    commission_minimum: Decimal = ZERO
    volume_participation: Decimal | None = None

    @classmethod
    def from_settings(cls, section: object) -> Costs:
        return cls(**{k: getattr(section, k) for k in cls.__dataclass_fields__})


def price_q(value: Decimal) -> Decimal:
    """Return a price rounded half-to-even to micro-units (the storage precision)."""
    return value.quantize(MICRO, rounding=ROUND_HALF_EVEN)


def slipped(side: Side, ref: Decimal, bar: Bar, costs: Costs) -> Decimal:
    """Return ``ref`` moved against the trader by the slippage, never outside the bar's range.

    Clamping to [low, high] keeps every fill at a price that actually traded in the bar.
    """
    if costs.slippage_model == "range_fraction":
        slip = (bar.high - bar.low) * costs.slippage_range_fraction
    else:
        slip = ref * costs.slippage_bps / Decimal(10000)
    price = price_q(ref + slip if side is Side.BUY else ref - slip)
    return min(max(price, bar.low), bar.high)


def commission(qty: Decimal, price: Decimal, costs: Costs, first_fill: bool,
               quantum: Decimal | None = CENT) -> Decimal:
    """Return the commission of one fill, rounded to ``quantum`` (the cent; None: exact).

    The per-order fee and the minimum apply to an order's first fill only, so an order filled
    in parts pays them once.
    """
    c = costs.commission_per_share * qty + costs.commission_percent / 100 * qty * price
    if first_fill:
        c += costs.commission_per_order
        c = max(c, costs.commission_minimum)
    return c if quantum is None else c.quantize(quantum, rounding=ROUND_HALF_EVEN)


def volume_cap(volume: int, costs: Costs, fractionable: bool) -> Decimal | None:
    """Return the most shares one bar may fill under the participation cap (None = no cap)."""
    if costs.volume_participation is None:
        return None
    cap = Decimal(volume) * costs.volume_participation
    return cap.quantize(MICRO if fractionable else Decimal(1), rounding=ROUND_DOWN)


def shares_for_notional(notional: Decimal, price: Decimal, fractionable: bool) -> Decimal:
    """Return the shares a dollar amount buys at ``price``, rounded down (never overspends)."""
    return (notional / price).quantize(MICRO if fractionable else Decimal(1), rounding=ROUND_DOWN)
