"""Mutable order records as the service layer handles them, and their row conversions."""
from __future__ import annotations

import sqlite3
from dataclasses import dataclass, field, fields
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.domain.money import from_micros, to_micros

UTC = UTC


def iso(dt: datetime | None) -> str | None:
    """Return a UTC ISO string with microseconds (None stays None)."""
    return None if dt is None else dt.astimezone(UTC).isoformat(timespec="microseconds")


def bar_iso(dt: datetime) -> str:
    """Return ``dt`` in the ``bars.ts`` format, rounded *up* to the second.

    Rounding up keeps ``bars.ts >= bar_iso(t)`` equal to "the bar opens at or after t".
    """
    if dt.tzinfo is not UTC:
        dt = dt.astimezone(UTC)
    if dt.microsecond:
        dt = dt.replace(microsecond=0) + timedelta(seconds=1)
    return dt.isoformat()  # "YYYY-MM-DDTHH:MM:SS+00:00": 2x faster than strftime (hot path)


def parse_ts(text: str | None) -> datetime | None:
    if text is None:
        return None
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


_MONEY = ("qty", "notional", "filled_qty", "filled_notional", "limit_price", "stop_price",
          "trail_price", "trail_percent", "hwm", "commission", "reserve")
_TIMES = ("created_at", "updated_at", "submitted_at", "filled_at", "canceled_at", "expired_at",
          "failed_at", "replaced_at", "expires_at")


@dataclass
class OrderRecord:
    id: str
    client_order_id: str
    symbol: str
    asset_id: str
    side: str
    type: str
    time_in_force: str
    order_class: str
    status: str
    active_from: str
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime
    qty: Decimal | None = None
    notional: Decimal | None = None
    filled_qty: Decimal = Decimal(0)
    filled_notional: Decimal = Decimal(0)
    limit_price: Decimal | None = None
    stop_price: Decimal | None = None
    trail_price: Decimal | None = None
    trail_percent: Decimal | None = None
    hwm: Decimal | None = None
    commission: Decimal = Decimal(0)
    reserve: Decimal = Decimal(0)
    triggered: bool = False
    evaluated: bool = False
    extended_hours: bool = False
    parent_id: str | None = None
    leg: str | None = None
    position_intent: str | None = None
    expires_at: datetime | None = None
    target_bar: str | None = None
    reason: str | None = None
    source: str = "api"
    filled_at: datetime | None = None
    canceled_at: datetime | None = None
    expired_at: datetime | None = None
    failed_at: datetime | None = None
    replaced_at: datetime | None = None
    replaced_by: str | None = None
    replaces: str | None = None
    initial_status: str | None = None  # set on submission: the row is its creation event
    account: int = 1  # the paper account (accounts.AUTOMATION is 1)
    seq: int | None = None
    legs: list[OrderRecord] = field(default_factory=list)

    @property
    def remaining(self) -> Decimal | None:
        return None if self.qty is None else self.qty - self.filled_qty

    @property
    def filled_avg_price(self) -> Decimal | None:
        if self.filled_qty == 0:
            return None
        return from_micros(to_micros(self.filled_notional / self.filled_qty))

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> OrderRecord:
        """Return the record of a ``pt_orders`` row (any column order; extra columns ignored)."""
        rec = cls.__new__(cls)
        d = rec.__dict__
        for name, col, kind in _SPEC:
            v = row[col]
            if kind == _MONEY_KIND:
                v = _ZERO if v is None and name in _ZERO_DEFAULT else (
                    None if v is None else from_micros(v))
            elif kind == _TIME_KIND:
                v = parse_ts(v)
            elif kind == _BOOL_KIND:
                v = bool(v)
            d[name] = v
        d["seq"] = row["seq"]
        d["legs"] = []
        return rec

    def to_row(self) -> tuple[Any, ...]:
        """Return the values of ``ORDER_COLUMNS`` in order (the prepared insert's row)."""
        d = self.__dict__
        out = []
        # A new order's created/updated/submitted times are one object, and most of its money
        # fields are zero: both shortcuts give exactly what the converters would.
        last_t: Any = None
        last_iso: str | None = None
        for name, _, kind in _SPEC:
            v = d[name]
            if v is not None:
                if kind == _MONEY_KIND:
                    v = to_micros(v) if v else 0
                elif kind == _TIME_KIND:
                    if v is not last_t:
                        last_t, last_iso = v, iso(v)
                    v = last_iso
                elif kind == _BOOL_KIND:
                    v = int(v)
            out.append(v)
        return tuple(out)

    def to_params(self) -> dict[str, Any]:
        return dict(zip(ORDER_COLUMNS, self.to_row(), strict=True))


_ZERO = Decimal(0)
_ZERO_DEFAULT = frozenset({"filled_qty", "filled_notional", "commission", "reserve"})
_MONEY_KIND, _TIME_KIND, _BOOL_KIND, _PLAIN_KIND = range(4)


def _spec() -> tuple[tuple[str, str, int], ...]:
    """Return (field, column, kind) per stored field, computed once: rows are built on the hot
    path of every submission and every fill, where per-call ``dataclasses.fields`` reflection
    was a measurable share of the time."""
    out = []
    for f in fields(OrderRecord):
        if f.name in ("legs", "seq"):
            continue
        if f.name in _MONEY:
            out.append((f.name, f"{f.name}_micros", _MONEY_KIND))
        elif f.name in _TIMES:
            out.append((f.name, f.name, _TIME_KIND))
        elif f.name in ("triggered", "evaluated", "extended_hours"):
            out.append((f.name, f.name, _BOOL_KIND))
        else:
            out.append((f.name, f.name, _PLAIN_KIND))
    return tuple(out)


_SPEC = _spec()


def _columns() -> tuple[str, ...]:
    return tuple(col for _, col, _ in _SPEC)


ORDER_COLUMNS = _columns()
