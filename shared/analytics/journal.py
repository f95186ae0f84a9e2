"""The trade journal: round trips built from fills, one position per symbol.

A round trip opens when a symbol's position leaves zero and closes when it comes back to zero;
partial closes realize P&L against the average cost and stay in the same trip; a fill that
crosses zero (a flip) closes the trip and opens the opposite one with the rest of its quantity.
This is how NautilusTrader builds positions from fills; it is hand-written here because no
installed library builds round trips from an exact-Decimal fill stream.
"""
from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import ROUND_HALF_EVEN, Decimal

from shared.analytics.models import Decision, Fill, RoundTrip
from shared.errors import ValidationError

_MICRO = Decimal("0.000001")
ZERO = Decimal(0)


def _q(value: Decimal) -> Decimal:
    """Round to micro-units, the precision the database keeps money in."""
    return value.quantize(_MICRO, rounding=ROUND_HALF_EVEN)


@dataclass
class _Open:
    """The trip being built for one symbol (mutable while fills arrive)."""

    symbol: str
    sign: int
    strategy: str | None
    entry_time: datetime
    entry_order_id: str | None
    pos: Decimal = ZERO  # signed quantity held
    cost: Decimal = ZERO  # signed cost basis of ``pos`` (sum of qty * price, exact)
    entry_qty: Decimal = ZERO
    entry_value: Decimal = ZERO
    exit_qty: Decimal = ZERO
    exit_value: Decimal = ZERO
    max_qty: Decimal = ZERO
    gross: Decimal = ZERO  # realized against the average cost (shown while open)
    cash: Decimal = ZERO  # booked cash of the fills (the P&L once closed)
    fees: Decimal = ZERO
    n_fills: int = 0
    order_ids: list[str] = field(default_factory=list)

    def touch(self, fill: Fill, qty: Decimal, commission: Decimal) -> None:
        # A part of a flip books its share of the fill's cash; the opening part (applied
        # second) takes what the closing part left, so the two add up exactly.
        if qty == fill.qty:
            self.cash += fill.cash_flow
        elif self.sign * fill.signed_qty < 0:
            self.cash += _q(fill.cash_flow * qty / fill.qty)
        else:
            self.cash += fill.cash_flow - _q(fill.cash_flow * (fill.qty - qty) / fill.qty)
        self.fees += commission
        self.n_fills += 1
        if fill.order_id and fill.order_id not in self.order_ids:
            self.order_ids.append(fill.order_id)

    def add(self, fill: Fill, qty: Decimal, commission: Decimal) -> None:
        self.pos += self.sign * qty
        self.cost += self.sign * qty * fill.price
        self.entry_qty += qty
        self.entry_value += qty * fill.price
        self.max_qty = max(self.max_qty, abs(self.pos))
        self.touch(fill, qty, commission)

    def reduce(self, fill: Fill, qty: Decimal, commission: Decimal) -> None:
        held = abs(self.pos)
        # The last close takes the whole remaining basis, so a trip's total is exact even when
        # an average cost had to be rounded for a partial close.
        removed = self.cost if qty == held else _q(self.cost * qty / held)
        self.gross += self.sign * qty * fill.price - removed
        self.cost -= removed
        self.pos -= self.sign * qty
        self.exit_qty += qty
        self.exit_value += qty * fill.price
        self.touch(fill, qty, commission)

    def to_trip(self, n: int, exit_time: datetime | None,
                decisions: Mapping[str, Decision]) -> RoundTrip:
        decision = decisions.get(self.entry_order_id or "")
        return RoundTrip(
            trip_id=f"{self.symbol}-{n}",
            symbol=self.symbol,
            side="long" if self.sign > 0 else "short",
            strategy=self.strategy or (decision.strategy if decision else None),
            entry_time=self.entry_time,
            exit_time=exit_time,
            entry_qty=self.entry_qty,
            exit_qty=self.exit_qty,
            max_qty=self.max_qty,
            entry_price=_q(self.entry_value / self.entry_qty),
            exit_price=_q(self.exit_value / self.exit_qty) if self.exit_qty else None,
            entry_value=self.entry_value,
            gross_pnl=self.gross if exit_time is None else self.cash,
            fees=self.fees,
            n_fills=self.n_fills,
            entry_order_id=self.entry_order_id,
            order_ids=tuple(self.order_ids),
            decision_id=decision.decision_id if decision else None,
            pattern=decision.pattern if decision else None,
        )


def _sorted(fills: Iterable[Fill]) -> list[Fill]:
    """Return fills in time order (stable, so same-time fills keep their given order).

    Raises:
        ValidationError: when two fills share a ``fill_id``.
    """
    out = sorted(fills, key=lambda f: f.ts)
    seen: set[str] = set()
    for f in out:
        if f.fill_id is not None:
            if f.fill_id in seen:
                raise ValidationError(f"duplicate fill {f.fill_id}", field="fill_id")
            seen.add(f.fill_id)
    return out


def build_round_trips(
    fills: Iterable[Fill],
    decisions: Mapping[str, Decision] | None = None,
    *,
    include_open: bool = True,
) -> list[RoundTrip]:
    """Return the round trips of ``fills``, closed ones by exit time then the open ones.

    ``decisions`` maps an entry order id to the decision behind it (coordination's ledger);
    a trip takes the decision of the order that opened it.

    Raises:
        ValidationError: on duplicate fill ids (the fields of each fill are checked by ``Fill``).
    """
    decisions = decisions or {}
    current: dict[str, _Open] = {}
    counts: dict[str, int] = {}
    closed: list[RoundTrip] = []

    def open_trip(fill: Fill, qty: Decimal, commission: Decimal) -> None:
        trip = _Open(symbol=fill.symbol, sign=1 if fill.side == "buy" else -1,
                     strategy=fill.strategy, entry_time=fill.ts, entry_order_id=fill.order_id)
        trip.add(fill, qty, commission)
        current[fill.symbol] = trip

    for fill in _sorted(fills):
        trip = current.get(fill.symbol)
        if trip is None:
            open_trip(fill, fill.qty, fill.commission)
            continue
        if (fill.side == "buy") == (trip.sign > 0):
            trip.add(fill, fill.qty, fill.commission)
            continue
        held = abs(trip.pos)
        close_qty = min(fill.qty, held)
        rest = fill.qty - close_qty
        # A flip's commission is split by quantity; the opening part takes the remainder so the
        # two parts add up to the fill's commission exactly.
        close_fee = fill.commission if not rest else _q(fill.commission * close_qty / fill.qty)
        trip.reduce(fill, close_qty, close_fee)
        if trip.pos == 0:
            counts[fill.symbol] = counts.get(fill.symbol, 0) + 1
            closed.append(trip.to_trip(counts[fill.symbol], fill.ts, decisions))
            del current[fill.symbol]
            if rest:
                open_trip(fill, rest, fill.commission - close_fee)
    closed.sort(key=lambda t: (t.exit_time, t.entry_time, t.symbol))
    if include_open:
        for symbol in sorted(current):
            closed.append(current[symbol].to_trip(counts.get(symbol, 0) + 1, None, decisions))
    return closed
