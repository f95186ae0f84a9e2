"""The pattern-day-trader rule as Alpaca applies it.

A day trade is closing (part of) a position that was opened or added to in the same session.
With equity under the threshold ($25,000), an order that would make the fourth day trade within
five sessions is rejected with 403.
"""
from __future__ import annotations

from decimal import Decimal

from shared.errors import Forbidden


class PatternDayTraderRejection(Forbidden):
    """The order would be a fourth day trade in five sessions under $25k equity (403)."""

    def __init__(self, count: int, equity: Decimal, threshold: Decimal) -> None:
        super().__init__(
            f"trade denied due to pattern day trading protection: {count} day trades in the "
            f"last 5 sessions and equity {equity} is under {threshold}",
            code="risk_pattern_day_trader", details={"reason": "pattern_day_trader",
                                                     "daytrade_count": count})


def would_day_trade(position_qty: Decimal, signed_qty: Decimal, opened_today: Decimal) -> bool:
    """Return True when the order reduces a position that has shares opened this session."""
    reduces = position_qty != 0 and (position_qty > 0) != (signed_qty > 0)
    return reduces and opened_today > 0


def check_pdt(*, equity: Decimal, day_trades_last5: int, would_be_day_trade: bool,
              threshold: Decimal, max_day_trades: int) -> None:
    """Pass or raise when the order would break the pattern-day-trader rule.

    Raises:
        PatternDayTraderRejection: equity under ``threshold`` and the order would make day
            trade number ``max_day_trades + 1`` within five sessions.
    """
    if would_be_day_trade and equity < threshold and day_trades_last5 >= max_day_trades:
        raise PatternDayTraderRejection(day_trades_last5, equity, threshold)
