"""Alpaca account activities (GET /v2/account/activities) from the account's fills and ledger.

- every fill is a trade activity (``FILL``, type ``fill`` or ``partial_fill``) with the order's
  cumulative and remaining quantity as of that fill;
- the account's opening balance is a cash deposit (``CSD``) at its creation;
- a reset is a cash journal (``JNLC``) of the amount that brought the cash back to the start;
- a commission is a fee (``FEE``, negative).

Ids are Alpaca's ``<YYYYMMDDHHMMSSmmm>::<uuid>`` (the time, then a UUID derived from the row),
so sorting by id sorts by time, and a page token is the id of the last activity of the page
before.
"""
from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any
from zoneinfo import ZoneInfo

from services.paper_trading.service_layer.alpaca_models import ts
from shared.domain.money import from_micros, money_str
from shared.errors import NotFound, ValidationError

if TYPE_CHECKING:
    from services.paper_trading.service_layer.ports import PaperContext

NEW_YORK = ZoneInfo("America/New_York")
_NS = uuid.UUID("0b8e7f3e-6a55-4f7e-9a63-3f3f0e6b1c2d")
#: Alpaca's activity types (alpaca-py's ``ActivityType``); only FILL, CSD, JNLC, FEE occur here.
ACTIVITY_TYPES = frozenset(
    "FILL ACATC ACATS CFEE CIL CSD CSW DIV DIVCGL DIVCGS DIVNRA DIVROC DIVTXEX DIVWH EXTRD FEE "
    "FXTRD INT INTPNL JNLC JNLS MA MEM NC OCT OPASN OPCSH OPEXC OPEXP OPTRD PTC REORG SPIN SPLIT "
    "SWP VOF WH".split())
MAX_PAGE = 100

_FILLS_SQL = (
    "SELECT f.id, f.order_id, f.symbol, f.side, f.qty_micros, f.price_micros, f.filled_at, "
    "SUM(f.qty_micros) OVER (PARTITION BY f.order_id ORDER BY f.id) AS cum, "
    "MAX(f.id) OVER (PARTITION BY f.order_id) AS last_id, o.qty_micros AS order_qty, "
    "o.status AS order_status "
    "FROM pt_fills f LEFT JOIN pt_orders o ON o.id = f.order_id WHERE f.account = ?")
_LEDGER_SQL = (
    "SELECT l.id, l.kind, l.amount_micros, l.at, l.note, f.symbol FROM pt_ledger l "
    "LEFT JOIN pt_fills f ON f.id = l.fill_id WHERE l.account = ? AND l.kind != 'fill'")


@dataclass(frozen=True)
class ActivityQuery:
    activity_types: frozenset[str] | None = None
    category: str | None = None  # trade_activity | non_trade_activity
    on: date | None = None  # Alpaca's ``date``
    after: datetime | None = None
    until: datetime | None = None
    direction: str = "desc"
    page_size: int | None = None
    page_token: str | None = None


def _id(at: datetime, key: str) -> str:
    u = at.astimezone(UTC)
    return f"{u:%Y%m%d%H%M%S}{u.microsecond // 1000:03d}::{uuid.uuid5(_NS, key)}"


def _dt(text: str) -> datetime:
    t = datetime.fromisoformat(text)
    return t.replace(tzinfo=UTC) if t.tzinfo is None else t


def _n(v: Decimal) -> str:
    return money_str(v) or "0"


def _fill(account_uuid: str, r: Any) -> tuple[datetime, dict[str, Any]]:
    at = _dt(r["filled_at"])
    cum = from_micros(r["cum"])
    done = (cum >= from_micros(r["order_qty"]) if r["order_qty"] is not None
            else (r["id"] == r["last_id"] and r["order_status"] == "filled"))
    leaves = Decimal(0) if r["order_qty"] is None else max(from_micros(r["order_qty"]) - cum,
                                                           Decimal(0))
    return at, {
        "id": _id(at, f"fill:{r['id']}"), "account_id": account_uuid, "activity_type": "FILL",
        "transaction_time": ts(at), "type": "fill" if done else "partial_fill",
        "price": _n(from_micros(r["price_micros"])), "qty": _n(from_micros(r["qty_micros"])),
        "side": r["side"], "symbol": r["symbol"], "leaves_qty": _n(leaves),
        "order_id": r["order_id"], "cum_qty": _n(cum),
        "order_status": "filled" if done else "partially_filled"}


def _non_trade(account_uuid: str, at: datetime, key: str, kind: str, amount: Decimal,
               description: str, symbol: str | None = None) -> tuple[datetime, dict[str, Any]]:
    return at, {
        "id": _id(at, key), "account_id": account_uuid, "activity_type": kind,
        "date": at.astimezone(NEW_YORK).date().isoformat(), "net_amount": _n(amount),
        "description": description, "status": "executed", "symbol": symbol,
        "qty": None, "price": None, "per_share_amount": None}


def all_activities(svc: PaperContext, account: int) -> list[tuple[datetime, dict[str, Any]]]:
    """Return every activity of the account as (time, Alpaca object), in no set order.

    Raises:
        NotFound: no such account.
    """
    conn = svc.get_db_connection()
    conn.execute("BEGIN")  # one consistent read view of the three tables
    try:
        acct = conn.execute("SELECT account_id, created_at, start_cash_micros FROM pt_accounts "
                            "WHERE id = ?", (account,)).fetchone()
        if acct is None:
            raise NotFound(f"account not found for {account}", field="account")
        fills = conn.execute(_FILLS_SQL, (account,)).fetchall()
        ledger = conn.execute(_LEDGER_SQL, (account,)).fetchall()
    finally:
        conn.execute("COMMIT")
    aid = str(acct["account_id"])
    out = [_non_trade(aid, _dt(acct["created_at"]), f"{account}:open", "CSD",
                      from_micros(acct["start_cash_micros"]), "opening balance")]
    out.extend(_fill(aid, r) for r in fills)
    for r in ledger:
        kind, desc = (("JNLC", r["note"] or "account reset") if r["kind"] == "reset"
                      else ("FEE", "commission"))
        out.append(_non_trade(aid, _dt(r["at"]), f"{account}:ledger:{r['id']}", kind,
                              from_micros(r["amount_micros"]), desc, r["symbol"]))
    return out


def activities(svc: PaperContext, account: int, q: ActivityQuery) -> list[dict[str, Any]]:
    """Return one page of the account's activities matching ``q``.

    Raises:
        ValidationError: ``date`` with ``after``/``until``, or an unknown activity type.
    """
    if q.on is not None and (q.after is not None or q.until is not None):
        raise ValidationError("date cannot be combined with after or until", field="date")
    if q.activity_types and not q.activity_types <= ACTIVITY_TYPES:
        bad = sorted(q.activity_types - ACTIVITY_TYPES)[0]
        raise ValidationError(f"unknown activity type {bad}", field="activity_types")
    rows = []
    for at, a in all_activities(svc, account):
        trade = a["activity_type"] == "FILL"
        if q.activity_types and a["activity_type"] not in q.activity_types:
            continue
        if q.category and (q.category == "trade_activity") != trade:
            continue
        if q.on is not None and at.astimezone(NEW_YORK).date() != q.on:
            continue
        if q.after is not None and not at > q.after:
            continue
        if q.until is not None and not at < q.until:
            continue
        rows.append(a)
    desc = q.direction == "desc"
    rows.sort(key=lambda a: a["id"], reverse=desc)
    if q.page_token:
        rows = [a for a in rows if (a["id"] < q.page_token if desc else a["id"] > q.page_token)]
    size = q.page_size if q.page_size is not None else (None if q.on is not None else MAX_PAGE)
    return rows if size is None else rows[:size]


__all__ = ["ACTIVITY_TYPES", "ActivityQuery", "activities", "all_activities"]
