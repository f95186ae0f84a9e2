"""Position sizing: fixed dollars, percent of equity, risk-based, or all in; stop and target.

Shares are whole (the simulated market's stocks are not fractionable for entries here) and
always rounded down, so an order never spends more than its rule allows.
"""
from __future__ import annotations

from dataclasses import dataclass
from decimal import ROUND_DOWN, Decimal
from typing import Any

from shared.domain.money import D, cents

ZERO = Decimal(0)


@dataclass(frozen=True)
class SizeResult:
    """The shares of an entry with the figures behind them."""

    qty: Decimal
    method: str
    stop: Decimal | None
    take_profit: Decimal | None
    risk_per_share: Decimal | None
    capped_by: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"qty": str(self.qty), "method": self.method,
                "stop": None if self.stop is None else str(self.stop),
                "take_profit": None if self.take_profit is None else str(self.take_profit),
                "risk_per_share": None if self.risk_per_share is None else str(self.risk_per_share),
                "capped_by": self.capped_by}


ONE = Decimal(1)


def _whole(x: Decimal, step: Decimal = ONE) -> Decimal:
    """Return ``x`` rounded down to a multiple of ``step`` (whole shares by default)."""
    return (x / step).quantize(ONE, rounding=ROUND_DOWN) * step if x > 0 else ZERO


def stop_price(long: bool, entry: Decimal, *, atr: Decimal | None, atr_multiple: float,
               invalidation: Decimal | None = None, source: str = "atr") -> Decimal | None:
    """Return the protective stop: the pattern's invalidation level when asked for and on the
    losing side of the entry, else ``atr_multiple`` ATRs away; None without either."""
    if source == "pattern" and invalidation is not None:
        if (long and invalidation < entry) or (not long and invalidation > entry):
            return cents(invalidation)
    if atr is None or atr <= 0:
        return None
    off = atr * D(atr_multiple)
    stop = entry - off if long else entry + off
    return cents(stop) if stop > 0 else None


def size_entry(long: bool, entry: Decimal, sizing: Any, *, equity: Decimal, cash: Decimal,
               buying_power: Decimal | None = None, atr: Decimal | None = None,
               invalidation: Decimal | None = None,
               commission_rate: Decimal = ZERO, step: Decimal = ONE) -> SizeResult:
    """Return the shares, stop and take-profit of an entry at ``entry`` under ``sizing``.

    ``commission_rate`` is a fraction of the notional (0.002 = 0.2%); ``all_in`` spends the
    whole ``cash`` on whole shares with their commission included.  ``step`` is the quantity
    increment (1 share; 0.0001 for a fractional coin): every size is rounded down to it.

    Raises:
        ValueError: when ``entry`` is not positive or the method is unknown.
    """
    if entry <= 0:
        raise ValueError(f"entry price must be > 0, was {entry}")
    stop = stop_price(long, entry, atr=atr, atr_multiple=sizing.atr_multiple,
                      invalidation=invalidation, source=sizing.stop_source)
    risk = abs(entry - stop) if stop is not None else None
    method = sizing.method
    if method == "fixed":
        qty = _whole(D(sizing.fixed_dollars) / entry, step)
    elif method == "percent":
        qty = _whole(equity * D(sizing.equity_pct) / 100 / entry, step)
    elif method == "risk":
        budget = (D(sizing.risk_dollars) if sizing.risk_dollars is not None
                  else equity * D(sizing.risk_pct) / 100)
        qty = _whole(budget / risk, step) if risk else ZERO
    elif method == "all_in":
        qty = _whole(cash / (entry * (1 + commission_rate)), step)
    else:
        raise ValueError(f"unknown sizing method {method!r}")
    capped = None
    if method != "all_in":
        cap = _whole(equity * D(sizing.max_position_pct) / 100 / entry, step)
        if qty > cap:
            qty, capped = cap, "max_position_pct"
    if buying_power is not None:
        bp_cap = _whole(buying_power / (entry * (1 + commission_rate)), step)
        if qty > bp_cap:
            qty, capped = bp_cap, "buying_power"
    tp = None
    if risk and sizing.reward_risk is not None:
        tp = entry + risk * D(sizing.reward_risk) if long else entry - risk * D(sizing.reward_risk)
        tp = cents(tp) if tp > 0 else None
    return SizeResult(qty, method, stop, tp, risk, capped)
