"""Alpaca's JSON objects (order, account, position, asset, clock, calendar) from our records.

Money and quantities are strings, timestamps RFC 3339 with ``Z``, every key of Alpaca's sample
objects present (null where it does not apply).
"""
from __future__ import annotations

import re
from datetime import UTC, datetime
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pandas as pd

from services.paper_trading.adapters.asset_catalog import exchange_of, listing_exchange
from services.paper_trading.service_layer.snapshot import PricedPosition, Snapshot
from shared.domain.money import money_str
from shared.errors import ValidationError
from shared.market.calendar import MarketCalendar
from shared.trading.records import OrderRecord

UTC = UTC
ERROR_CODES = {400: 40010001, 401: 40110000, 403: 40310000, 404: 40410000, 405: 40510000,
               409: 40910000, 413: 41310000, 422: 42210000, 429: 42910000}


def alpaca_error(code: str, message: str, details: Any, status: int) -> dict[str, Any]:
    """Return Alpaca's error body ``{"code": <8 digits>, "message": ...}`` (plus our reason)."""
    body: dict[str, Any] = {"code": ERROR_CODES.get(status, 50010000), "message": message,
                            "reason": code}
    if isinstance(details, dict) and "field" in details:
        body["field"] = details["field"]
    return body


def ts(dt: datetime | None) -> str | None:
    """Return RFC 3339 UTC with microseconds and ``Z`` (isoformat: 3x cheaper than strftime)."""
    if dt is None:
        return None
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def s(v: Decimal | None) -> str | None:
    # zero is the most common amount of an order (filled qty, commission): "0" is what
    # money_str returns for it, without the conversion
    return None if v is None else (money_str(v) if v else "0")


def order_json(rec: OrderRecord, nested: bool = True) -> dict[str, Any]:
    created = ts(rec.created_at)
    # a new order's three times are one instant: format it once
    updated = created if rec.updated_at == rec.created_at else ts(rec.updated_at)
    submitted = created if rec.submitted_at == rec.created_at else ts(rec.submitted_at)
    return {
        "id": rec.id, "client_order_id": rec.client_order_id,
        "created_at": created, "updated_at": updated,
        "submitted_at": submitted, "filled_at": ts(rec.filled_at),
        "expired_at": ts(rec.expired_at), "expires_at": ts(rec.expires_at),
        "canceled_at": ts(rec.canceled_at), "failed_at": ts(rec.failed_at),
        "replaced_at": ts(rec.replaced_at), "replaced_by": rec.replaced_by,
        "replaces": rec.replaces, "asset_id": rec.asset_id, "symbol": rec.symbol,
        "asset_class": "crypto" if "/" in rec.symbol else "us_equity",
        "notional": s(rec.notional) if rec.qty is None or rec.notional else None,
        "qty": s(rec.qty), "filled_qty": s(rec.filled_qty),
        "filled_avg_price": s(rec.filled_avg_price), "order_class": rec.order_class,
        "order_type": rec.type, "type": rec.type, "side": rec.side,
        "position_intent": rec.position_intent, "time_in_force": rec.time_in_force,
        "limit_price": s(rec.limit_price), "stop_price": s(rec.stop_price),
        "status": rec.status, "extended_hours": rec.extended_hours,
        "legs": [order_json(x, False) for x in rec.legs] if (nested and rec.legs) else None,
        "trail_percent": s(rec.trail_percent), "trail_price": s(rec.trail_price),
        "hwm": s(rec.hwm), "subtag": None, "source": None, "expires_at_reason": None,
        "commission": s(rec.commission), "reason": rec.reason,
    }


def account_json(snap: Snapshot, cfg: Any) -> dict[str, Any]:
    f = snap.figures
    bp = max(f.buying_power - snap.reserved, Decimal(0))
    return {
        "id": snap.account_id, "account_number": snap.account_number, "status": "ACTIVE",
        "crypto_status": "ACTIVE", "currency": "USD", "buying_power": s(bp),
        "regt_buying_power": s(f.regt_buying_power),
        "daytrading_buying_power": s(f.daytrading_buying_power),
        "effective_buying_power": s(bp), "non_marginable_buying_power": s(max(f.cash, Decimal(0))),
        "options_buying_power": s(max(f.cash, Decimal(0))), "bod_dtbp": s(f.daytrading_buying_power),
        "cash": s(f.cash), "accrued_fees": "0", "pending_transfer_in": "0",
        "pending_transfer_out": "0", "portfolio_value": s(f.equity),
        "pattern_day_trader": snap.daytrade_count >= 4, "trading_blocked": False,
        "transfers_blocked": False, "account_blocked": False,
        "created_at": snap.created_at, "trade_suspended_by_user": False,
        "multiplier": s(f.multiplier), "shorting_enabled": cfg.account_type == "margin",
        "equity": s(f.equity), "last_equity": s(snap.last_equity),
        "long_market_value": s(f.long_market_value),
        "short_market_value": s(f.short_market_value), "position_market_value":  # net, as Alpaca's (short market value is negative)
            s(f.long_market_value + f.short_market_value),
        "initial_margin": s(f.initial_margin), "maintenance_margin": s(f.maintenance_margin),
        "last_maintenance_margin": s(f.maintenance_margin), "sma": "0",
        "daytrade_count": snap.daytrade_count, "balance_asof": snap.session,
        "crypto_tier": 1, "options_approved_level": 0, "options_trading_level": 0,
        "intraday_adjustments": "0", "pending_reg_taf_fees": "0",
    }


def position_json(p: PricedPosition, exchange: str | None = None) -> dict[str, Any]:
    """Return Alpaca's position object; ``exchange`` defaults to the asset's listing exchange
    (the symbols table's, see ``asset_catalog.exchange_of``)."""
    pos = p.position
    mv = pos.qty * p.price
    cost = pos.qty * pos.avg_entry
    upl = mv - cost
    intraday = pos.qty * (p.price - p.lastday_price)
    return {
        "asset_id": p.asset_id, "symbol": pos.symbol,
        "exchange": exchange or exchange_of(pos.symbol),
        "asset_class": "crypto" if "/" in pos.symbol else "us_equity",
        "asset_marginable": "/" not in pos.symbol, "avg_entry_price": s(pos.avg_entry),
        "qty": s(pos.qty), "qty_available": s(pos.qty - p.held if pos.qty > 0 else pos.qty + p.held), "side": pos.side,
        "market_value": s(mv), "cost_basis": s(cost), "unrealized_pl": s(upl),
        "unrealized_plpc": s((upl / abs(cost)).quantize(Decimal("0.0000001"))) if cost else "0",
        "unrealized_intraday_pl": s(intraday),
        "unrealized_intraday_plpc": s((intraday / abs(pos.qty * p.lastday_price)).quantize(
            Decimal("0.0000001"))) if p.lastday_price else "0",
        "current_price": s(p.price), "lastday_price": s(p.lastday_price),
        "change_today": s(((p.price - p.lastday_price) / p.lastday_price).quantize(
            Decimal("0.0000001"))) if p.lastday_price else "0",
        "realized_pl": s(pos.realized),
    }


def asset_json(symbol: str, asset_id: str, info: Any) -> dict[str, Any]:
    """Return Alpaca's asset object from a ``symbols`` row (None: a symbol with bars only)."""
    crypto = "/" in symbol
    get = (lambda k, d: d) if info is None else (lambda k, d: info[k])  # noqa: E731
    exchange = listing_exchange(symbol, get("exchange", None))
    return {"id": asset_id, "class": "crypto" if crypto else "us_equity", "exchange": exchange,
            "symbol": symbol, "name": get("name", symbol), "status": "active",
            "tradable": bool(get("tradable", 1)), "marginable": not crypto,
            "shortable": bool(get("shortable", 1)) and not crypto,
            "easy_to_borrow": bool(get("shortable", 1)) and not crypto,
            "fractionable": bool(get("fractionable", 1)), "attributes": [],
            "maintenance_margin_requirement": 30, "min_order_size": None,
            "min_trade_increment": None, "price_increment": None}


def clock_json(cal: MarketCalendar, now: datetime) -> dict[str, Any]:
    ny = "America/New_York"
    t = pd.Timestamp(now)
    return {"timestamp": t.tz_convert(ny).isoformat(), "is_open": cal.is_open(t),
            "next_open": cal.next_open(t).tz_convert(ny).isoformat(),
            "next_close": cal.next_close(t).tz_convert(ny).isoformat()}


_CALENDAR_FIRST, _CALENDAR_END = "1970-01-01", "2200-01-01"


def _day(value: str, name: str) -> pd.Timestamp:
    """Return a calendar argument (a date or an ISO time) as a Timestamp.

    Raises:
        ValidationError: when it is neither (Alpaca answers 400 too).
    """
    try:
        if not re.match(r"^\d{4}-\d{2}-\d{2}", value):
            raise ValueError(value)
        day = pd.Timestamp(value)
    except (ValueError, OverflowError):
        raise ValidationError(f"{name} must be a date such as 2024-03-05, was {value[:40]!r}",
                              field=name) from None
    # pandas parses year 1 or 9999 (in seconds), but the calendar's nanosecond index cannot
    # compare with it; the calendar knows 1970-2200 only anyway
    if not _CALENDAR_FIRST <= str(day.date()) < _CALENDAR_END:
        raise ValidationError(f"{name} must be between {_CALENDAR_FIRST} and {_CALENDAR_END}, "
                              f"was {value[:40]!r}", field=name)
    return day


@lru_cache(maxsize=4)
def _all_sessions(cal: MarketCalendar) -> tuple[dict[str, Any], ...]:
    """Return Alpaca's calendar object of every session ``cal`` knows (built once: ~9,000)."""
    ny = "America/New_York"
    opens, closes = cal.opens.tz_convert(ny), cal.closes.tz_convert(ny)
    nxt = cal.sessions[1:].append(cal.sessions[-1:] + pd.Timedelta(days=1))
    return tuple(
        {"date": d, "open": o[:5].replace(".", ":"), "close": c[:5].replace(".", ":"),
         "session_open": o[:5].replace(".", ""), "session_close": c[:5].replace(".", ""),
         "settlement_date": st}
        for d, o, c, st in zip(cal.sessions.strftime("%Y-%m-%d"), opens.strftime("%H.%M"),
                               closes.strftime("%H.%M"), nxt.strftime("%Y-%m-%d"), strict=True))


def calendar_json(cal: MarketCalendar, start: str | None, end: str | None,
                  now: datetime) -> list[dict[str, Any]]:
    """Return Alpaca's calendar objects of the sessions from ``start`` to ``end`` (dates).

    With neither, every session the exchange calendar knows, as Alpaca returns its whole
    calendar (1970-2029) when asked without a range; a missing bound is the calendar's end.
    ``settlement_date`` is the next session (T+1).

    Raises:
        ValidationError: a bound that is not a date (400).
    """
    del now  # the calendar does not depend on the clock
    rows = _all_sessions(cal)
    labels = cal.sessions
    lo = 0 if not start else int(labels.searchsorted(_naive_day(_day(start, "start"))))
    hi = len(labels) if not end else int(labels.searchsorted(_naive_day(_day(end, "end")),
                                                             side="right"))
    return list(rows[lo:hi])


def _naive_day(t: pd.Timestamp) -> pd.Timestamp:
    return (t.tz_convert("America/New_York").tz_localize(None) if t.tzinfo else t).normalize()
