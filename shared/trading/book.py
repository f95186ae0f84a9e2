"""Vectorised pre-screen: which of many working orders can one bar possibly affect?

Most resting limit and stop orders are far from the market; numpy compares every order's
integer micro-unit prices with the bar at once, so only the few that can fill (or that need a
per-bar update, such as trailing stops) go through the exact ``Decimal`` rules in ``fills``.
Integer micros keep the comparisons exact.
"""
from __future__ import annotations

import numpy as np

from shared.trading.types import OrderType, TimeInForce

TYPE_CODE = {OrderType.MARKET: 0, OrderType.LIMIT: 1, OrderType.STOP: 2,
             OrderType.STOP_LIMIT: 3, OrderType.TRAILING_STOP: 4}
#: time in force whose orders always need a look (immediate or auction orders)
ALWAYS_TIF = frozenset({TimeInForce.IOC, TimeInForce.FOK, TimeInForce.OPG, TimeInForce.CLS})


def candidate_mask(bar_high: int, bar_low: int, is_buy: np.ndarray, type_code: np.ndarray,
                   limit: np.ndarray, stop: np.ndarray, triggered: np.ndarray,
                   always: np.ndarray) -> np.ndarray:
    """Return a boolean mask of the orders the bar (prices in micros) may fill or update.

    Args:
        is_buy, triggered, always: bool arrays; type_code: int8 codes from ``TYPE_CODE``;
        limit, stop: int64 micros (0 where absent).
    """
    limit_hit = np.where(is_buy, bar_low <= limit, bar_high >= limit)
    stop_hit = np.where(is_buy, bar_high >= stop, bar_low <= stop)
    mask = (type_code == 0) | (type_code == 4) | always
    mask |= (type_code == 1) & limit_hit
    mask |= (type_code == 2) & stop_hit
    mask |= (type_code == 3) & np.where(triggered, limit_hit, stop_hit)
    return mask
