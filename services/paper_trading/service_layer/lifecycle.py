"""Order status transitions inside one unit of work, each stored with its time and reason.

Also the group rules: a bracket's or OTO's exits are held until the entry fills and then work
as one OCO pair; an OCO's legs cancel each other.
"""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from services.paper_trading.adapters.repository import Repository
from shared.domain.money import money_str
from shared.market.calendar import MarketCalendar
from shared.trading import FINAL, OPEN, Leg, OrderStatus, TimeInForce
from shared.trading.records import OrderRecord, bar_iso, iso

_STAMP = {"canceled": "canceled_at", "expired": "expired_at", "rejected": "failed_at",
          "replaced": "replaced_at", "filled": "filled_at"}


def order_payload(rec: OrderRecord) -> dict[str, Any]:
    """Return the small order summary carried by events."""
    return {"id": rec.id, "client_order_id": rec.client_order_id, "symbol": rec.symbol,
            "side": rec.side, "type": rec.type, "status": rec.status,
            "qty": money_str(rec.qty), "filled_qty": money_str(rec.filled_qty),
            "filled_avg_price": money_str(rec.filled_avg_price),
            "order_class": rec.order_class, "leg": rec.leg, "reason": rec.reason}


def timing_for(cal: MarketCalendar, tif: str, start: datetime,
               crypto: bool) -> tuple[datetime | None, str | None]:
    """Return (expires_at, target_bar) of an order that starts working at ``start``.

    Day orders expire at the close of the session they work in (the next one when submitted
    outside hours); opg fills on the next session's opening bar, cls on its last bar.
    """
    if crypto or tif in (TimeInForce.GTC.value, TimeInForce.IOC.value, TimeInForce.FOK.value):
        return None, None
    if tif == TimeInForce.DAY.value:
        return cal.next_close(start).to_pydatetime(), None
    if tif == TimeInForce.OPG.value:
        target = cal.next_open(start - timedelta(microseconds=1)).to_pydatetime()
        return target + timedelta(minutes=1), bar_iso(target)
    close = cal.next_close(start).to_pydatetime()
    last_bar = close - timedelta(minutes=1)
    if last_bar < start:
        close = cal.next_close(close).to_pydatetime()
        last_bar = close - timedelta(minutes=1)
    return close, bar_iso(last_bar)


class Lifecycle:
    """Transitions over one repository (one transaction)."""

    def __init__(self, repo: Repository, cal: MarketCalendar) -> None:
        self.repo = repo
        self.cal = cal
        self.changed: dict[str, OrderRecord] = {}  # orders whose state changed, by id

    def transition(self, rec: OrderRecord, status: str, at: datetime,
                   reason: str | None = None) -> None:
        """Move ``rec`` to ``status`` and store the event (and the record)."""
        rec.status = status
        rec.updated_at = at
        if reason is not None:
            rec.reason = reason
        stamp = _STAMP.get(status)
        if stamp and getattr(rec, stamp) is None:
            setattr(rec, stamp, at)
        if OrderStatus(status) in FINAL:
            rec.reserve = Decimal(0)
        self.repo.update_order(rec)
        self.repo.order_event(rec.id, status, reason, at)
        self.repo.trade_event(f"order_{status}", order_payload(rec), at, rec.account)
        self.changed[rec.id] = rec

    def save(self, rec: OrderRecord) -> None:
        self.repo.update_order(rec)
        self.changed[rec.id] = rec

    def group_exits(self, rec: OrderRecord) -> list[OrderRecord]:
        """Return the other open exit legs of ``rec``'s OCO group."""
        members: list[OrderRecord] = []
        if rec.parent_id is not None:
            parent = self.changed.get(rec.parent_id) or self.repo.order_any(rec.parent_id)
            if parent is not None and parent.leg != Leg.ENTRY.value:
                members.append(parent)
            members.extend(self.repo.children(rec.parent_id))
        else:
            members.extend(self.repo.children(rec.id))
        out = []
        for m in members:
            m = self.changed.get(m.id, m)
            if m.id != rec.id and m.leg != Leg.ENTRY.value and OrderStatus(m.status) in OPEN:
                out.append(m)
        return out

    def after_final(self, rec: OrderRecord, at: datetime, fill_time: datetime | None) -> None:
        """Apply group rules once ``rec`` reached a final status."""
        if rec.leg != Leg.ENTRY.value:
            return
        for child in self.repo.children(rec.id):
            child = self.changed.get(child.id, child)
            if child.status != OrderStatus.HELD.value:
                continue
            if rec.filled_qty > 0:
                self.activate(child, rec.filled_qty, fill_time or at)
            else:
                self.transition(child, OrderStatus.CANCELED.value, at, "parent_not_filled")

    def activate(self, leg: OrderRecord, qty: Decimal, start: datetime) -> None:
        """Start working a held exit leg for ``qty`` shares from ``start`` on."""
        leg.qty = qty
        leg.active_from = bar_iso(start)
        leg.expires_at, leg.target_bar = timing_for(self.cal, leg.time_in_force, start,
                                                    "/" in leg.symbol)
        self.transition(leg, OrderStatus.NEW.value, start, "parent_filled")

    def after_exit_fill(self, rec: OrderRecord, at: datetime) -> None:
        """Shrink or cancel the OCO siblings of an exit leg that (partly) filled."""
        if rec.order_class == "simple":
            return
        remaining = rec.remaining or Decimal(0)
        for sib in self.group_exits(rec):
            if remaining <= 0:
                self.transition(sib, OrderStatus.CANCELED.value, at, "oco_sibling_filled")
            elif sib.qty is not None and sib.qty - sib.filled_qty > remaining:
                sib.qty = sib.filled_qty + remaining
                sib.updated_at = at
                self.save(sib)

    def cancel(self, rec: OrderRecord, at: datetime, reason: str,
               status: str = OrderStatus.CANCELED.value) -> None:
        """Cancel (or expire) ``rec`` and apply the group rules."""
        self.transition(rec, status, at, reason)
        self.after_final(rec, at, None)
        if rec.leg in (Leg.TAKE_PROFIT.value, Leg.STOP_LOSS.value) and reason == "user_canceled":
            for sib in self.group_exits(rec):
                self.transition(sib, OrderStatus.CANCELED.value, at, "oco_sibling_canceled")


__all__ = ["Lifecycle", "iso", "order_payload", "timing_for"]
