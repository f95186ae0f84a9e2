"""Value types of the reporting domain: fills in, round trips out.

These are the inputs replay and the service hand to the pure analytics; reading them from the
database is one small repository function, so the analytics never see SQL.
"""
from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from shared.errors import ValidationError

SIDES = ("buy", "sell")


@dataclass(frozen=True)
class Fill:
    """One execution: ``qty`` is positive, ``side`` says its direction."""

    ts: datetime
    symbol: str
    side: str
    qty: Decimal
    price: Decimal
    commission: Decimal = Decimal(0)
    order_id: str | None = None
    strategy: str | None = None
    fill_id: str | None = None
    # Signed cash the fill moved before commission, as the account booked it (paper trading
    # rounds it to the cent); None means the exact ``-signed_qty * price``.
    cash: Decimal | None = None

    def __post_init__(self) -> None:
        if self.ts.tzinfo is None:
            raise ValidationError(f"fill {self.fill_id or ''} ts must be timezone-aware, "
                                  f"was {self.ts!r}", field="ts")
        if self.side not in SIDES:
            raise ValidationError(f"fill side must be 'buy' or 'sell', was {self.side!r}",
                                  field="side")
        for name in ("qty", "price", "commission"):
            if not isinstance(getattr(self, name), Decimal):
                raise ValidationError(f"fill {name} must be a Decimal, was "
                                      f"{type(getattr(self, name)).__name__}", field=name)
        if self.qty <= 0:
            raise ValidationError(f"fill qty must be > 0, was {self.qty}", field="qty")
        if self.price <= 0:
            raise ValidationError(f"fill price must be > 0, was {self.price}", field="price")
        if self.cash is not None and (not isinstance(self.cash, Decimal)
                                      or self.cash * self.signed_qty > 0):
            raise ValidationError(f"fill cash must be a Decimal of the opposite sign to the "
                                  f"quantity (buys pay), was {self.cash!r}", field="cash")
        if self.commission < 0:
            raise ValidationError(f"fill commission must be >= 0, was {self.commission}",
                                  field="commission")

    @property
    def signed_qty(self) -> Decimal:
        return self.qty if self.side == "buy" else -self.qty

    @property
    def cash_flow(self) -> Decimal:
        """Return the booked cash of the fill before commission (buys negative)."""
        return -self.signed_qty * self.price if self.cash is None else self.cash


@dataclass(frozen=True)
class Decision:
    """Why an order was placed, as coordination's decision ledger records it."""

    decision_id: str
    pattern: str | None = None
    strategy: str | None = None


@dataclass(frozen=True)
class RoundTrip:
    """A position from flat (or a flip) back to flat; ``exit_time`` is None while open.

    Prices are volume-weighted averages.  ``gross_pnl`` of a closed trip is the cash its fills
    moved (what the account's ledger booked); of an open trip, what its closing fills realized
    so far against the average cost.  ``fees`` are every commission of its fills (a flip's commission is split
    by quantity); ``net_pnl = gross_pnl - fees``.
    """

    trip_id: str
    symbol: str
    side: str  # long | short
    strategy: str | None
    entry_time: datetime
    exit_time: datetime | None
    entry_qty: Decimal
    exit_qty: Decimal
    max_qty: Decimal
    entry_price: Decimal
    exit_price: Decimal | None
    entry_value: Decimal
    gross_pnl: Decimal
    fees: Decimal
    n_fills: int
    entry_order_id: str | None
    order_ids: tuple[str, ...] = ()
    decision_id: str | None = None
    pattern: str | None = None
    mae: Decimal | None = None
    mfe: Decimal | None = None
    mae_pct: float | None = None
    mfe_pct: float | None = None
    extra: dict[str, Any] = field(default_factory=dict, compare=False)

    @property
    def is_open(self) -> bool:
        return self.exit_time is None

    @property
    def open_qty(self) -> Decimal:
        return self.entry_qty - self.exit_qty

    @property
    def net_pnl(self) -> Decimal:
        return self.gross_pnl - self.fees

    def unrealized_pnl(self, last_price: Decimal) -> Decimal:
        """Return the open quantity's P&L at ``last_price`` against the average entry price
        (zero once the trip is closed); exact, rounded half-to-even to micro-units."""
        if not self.is_open:
            return Decimal(0)
        sign = 1 if self.side == "long" else -1
        return (sign * self.open_qty * (last_price - self.entry_price)).quantize(
            Decimal("0.000001"), rounding=ROUND_HALF_EVEN)

    @property
    def holding_time(self) -> timedelta | None:
        return None if self.exit_time is None else self.exit_time - self.entry_time

    @property
    def return_pct(self) -> float | None:
        """Net P&L over the money put in (entry value), as a fraction."""
        if not self.entry_value:
            return None
        return float(self.net_pnl / self.entry_value)

    def with_(self, **changes: Any) -> RoundTrip:
        """Return a copy with ``changes`` applied."""
        return replace(self, **changes)
