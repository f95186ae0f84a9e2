"""Alpaca's stream messages and our SSE frames, as pure functions (no server, no database).

Trading stream (JSON): the authorization / listening replies and ``trade_updates`` events whose
``order`` is the /v2 order object exactly as the REST API returns it (``order_json``).  Market
data and news streams: lists of ``{"T": ...}`` dicts, packed as msgpack (the SDK's
``Content-Type: application/msgpack``; times as msgpack timestamps, which the SDK turns into
datetimes) or as JSON text (Alpaca's default; times as RFC 3339 strings).
"""
from __future__ import annotations

import json
import struct
import uuid
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

import msgpack

from services.paper_trading.service_layer.alpaca_models import order_json
from shared.domain.money import from_micros, money_str
from shared.trading.records import OrderRecord

#: execution ids are UUIDs at Alpaca; ours are derived from the fill's row id
_EXEC_NS = uuid.UUID("6f1c1a52-31d4-4c8e-9d0b-2f6b8e0c5a11")

# -- the trading stream ---------------------------------------------------------------------
AUTHORIZED = {"stream": "authorization",
              "data": {"status": "authorized", "action": "authenticate"}}
UNAUTHORIZED = {"stream": "authorization",
                "data": {"status": "unauthorized", "action": "authenticate"}}

#: pt_order_events statuses that are trade_updates events of the same name (fills come from
#: pt_fills with their price and quantity; 'held' legs are not working orders yet)
STATUS_EVENTS = frozenset({"new", "accepted", "canceled", "expired", "replaced", "rejected",
                           "done_for_day", "pending_new", "pending_cancel", "pending_replace",
                           "stopped", "suspended", "calculated"})
#: an order's first status (``initial_status``) -> its trade_updates event
INITIAL_EVENTS = {"new": "new", "accepted": "new", "pending_new": "pending_new",
                  "rejected": "rejected"}


def listening(streams: Iterable[str]) -> dict[str, Any]:
    return {"stream": "listening", "data": {"streams": list(streams)}}


def trading_error(message: str) -> dict[str, Any]:
    return {"stream": "listening", "data": {"error": message}}


def ts_z(dt: datetime) -> str:
    """Return RFC 3339 UTC with microseconds and ``Z``."""
    return dt.astimezone(UTC).replace(tzinfo=None).isoformat(timespec="microseconds") + "Z"


def execution_id(fill_id: int) -> str:
    return str(uuid.uuid5(_EXEC_NS, f"fill:{fill_id}"))


def trade_update(event: str, order: OrderRecord, at: datetime, *,
                 price: Decimal | None = None, qty: Decimal | None = None,
                 position_qty: Decimal | None = None, fill_id: int | None = None
                 ) -> dict[str, Any]:
    """Return one ``trade_updates`` message in Alpaca's shape."""
    data: dict[str, Any] = {"event": event, "timestamp": ts_z(at),
                            "order": order_json(order, nested=True)}
    if fill_id is not None:
        data["execution_id"] = execution_id(fill_id)
    if price is not None:
        data["price"] = money_str(price)
    if qty is not None:
        data["qty"] = money_str(qty)
    if position_qty is not None:
        data["position_qty"] = money_str(position_qty)
    return {"stream": "trade_updates", "data": data}


def fill_event(order: OrderRecord, fill_id: int, last_fill_id: int) -> str:
    """Return ``fill`` for the fill that completed the order, else ``partial_fill``."""
    return "fill" if order.status == "filled" and fill_id == last_fill_id else "partial_fill"


def dumps(obj: Any) -> bytes:
    return json.dumps(obj, separators=(",", ":")).encode()


# -- market data and news -------------------------------------------------------------------
def connected() -> list[dict[str, Any]]:
    return [{"T": "success", "msg": "connected"}]


def authenticated() -> list[dict[str, Any]]:
    return [{"T": "success", "msg": "authenticated"}]


#: Alpaca's market-data stream errors
ERRORS = {400: "invalid syntax", 401: "not authenticated", 402: "auth failed",
          403: "already authenticated", 404: "auth timeout", 405: "symbol limit exceeded",
          406: "connection limit exceeded", 407: "slow client", 409: "insufficient subscription",
          410: "invalid subscribe action for this feed", 500: "internal error"}


def data_error(code: int, msg: str | None = None) -> list[dict[str, Any]]:
    return [{"T": "error", "code": code, "msg": msg or ERRORS[code]}]


STOCK_CHANNELS = ("trades", "quotes", "bars", "updatedBars", "dailyBars", "statuses", "lulds",
                  "corrections", "cancelErrors")
NEWS_CHANNELS = ("news",)


def subscription(subs: Mapping[str, Iterable[str]], channels: Iterable[str]) -> list[dict]:
    """Return the ``subscription`` acknowledgement listing every channel's symbols."""
    msg: dict[str, Any] = {"T": "subscription"}
    for ch in channels:
        msg[ch] = sorted(subs.get(ch, ()))
    return [msg]


def _stamp(dt: datetime) -> msgpack.Timestamp:
    return msgpack.Timestamp.from_datetime(dt.astimezone(UTC))


def bar_message(kind: str, symbol: str, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return a ``b`` (minute), ``u`` (updated) or ``d`` (daily) bar from a ``bars`` row."""
    vw, n = row["vwap_micros"], row["trade_count"]
    return {"T": kind, "S": symbol, "o": row["open_micros"] / 1e6, "h": row["high_micros"] / 1e6,
            "l": row["low_micros"] / 1e6, "c": row["close_micros"] / 1e6, "v": int(row["volume"]),
            "t": _stamp(datetime.fromisoformat(row["ts"])),
            "n": None if n is None else int(n), "vw": None if vw is None else vw / 1e6}


def trades_and_quotes(symbol: str, row: Mapping[str, Any], tape: str
                      ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Return the trades and quotes of a closed one-minute bar: the REST API's tape of it
    (``marketdata_ticks``: four prints o, l/h, h/l, c at t+0/20/40/59 s, a quote at each), so
    the stream and ``/v2/stocks/trades`` / ``quotes/latest`` agree print for print."""
    from services.paper_trading.adapters.marketdata_ticks import bar_prints, quote_json, trade_json

    ts_ns = int(datetime.fromisoformat(row["ts"]).timestamp()) * 1_000_000_000
    trades, quotes = [], []
    crypto = "/" in symbol  # fractional sizes, Alpaca's crypto objects (as /v1beta3's)
    for p in bar_prints(ts_ns, row["open_micros"], row["high_micros"], row["low_micros"],
                        row["close_micros"], row["volume"], crypto):
        stamp = msgpack.Timestamp.from_unix_nano(p[1])
        t = trade_json(p, tape, crypto)
        t.update(T="t", S=symbol, t=stamp)
        q = quote_json(p, tape, crypto)
        q.update(T="q", S=symbol, t=stamp)
        trades.append(t)
        quotes.append(q)
    return trades, quotes


def news_message(row: Mapping[str, Any]) -> dict[str, Any]:
    """Return an ``n`` message from a ``news`` row (the REST article's fields, with content)."""
    return {"T": "n", "id": int(row["id"]), "headline": row["headline"],
            "summary": row["summary"], "author": row["author"],
            "created_at": _stamp(_utc(row["created_at"])),
            "updated_at": _stamp(_utc(row["updated_at"])), "url": row["url"],
            "content": row["content"], "symbols": json.loads(row["symbols"]),
            "source": row["source"]}


def _utc(text: str) -> datetime:
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt


def _json_default(o: Any) -> Any:
    if isinstance(o, msgpack.Timestamp):
        return ts_z(o.to_datetime()).replace(".000000Z", "Z")
    raise TypeError(f"not serializable: {type(o).__name__}")


def pack(msgs: list[dict[str, Any]], binary: bool) -> bytes:
    """Encode a list of data messages: msgpack, or JSON text (times as RFC 3339)."""
    if binary:
        return msgpack.packb(msgs)
    return json.dumps(msgs, separators=(",", ":"), default=_json_default).encode()


def unpack(data: bytes | str, binary: bool) -> Any:
    """Decode a client's message.

    Raises:
        ValueError: it is neither msgpack nor JSON.
    """
    if binary:
        try:
            return msgpack.unpackb(data, raw=False, strict_map_key=True)
        except Exception as exc:  # msgpack raises several types for garbage
            raise ValueError(f"not msgpack: {exc}") from None
    return json.loads(data)


# -- websocket frames -----------------------------------------------------------------------
def ws_frame(payload: bytes, text: bool) -> bytes:
    """Return one final, unmasked server-to-client websocket frame.

    A server's frames are never masked, so one encoded update can be written to every
    subscriber's socket as is (the fan-out costs a write per client, not an encode).
    """
    b0 = 0x81 if text else 0x82
    n = len(payload)
    if n < 126:
        head = bytes((b0, n))
    elif n < 65536:
        head = struct.pack("!BBH", b0, 126, n)
    else:
        head = struct.pack("!BBQ", b0, 127, n)
    return head + payload


# -- SSE ------------------------------------------------------------------------------------
def sse_event(row_id: int, type_: str, payload: str, created_at: str) -> str:
    """Return the SSE frame of one ``trade_events`` row (as the Flask route framed it)."""
    body = {"id": row_id, "type": type_, "data": json.loads(payload), "created_at": created_at}
    return f"id: {row_id}\nevent: {type_}\ndata: {json.dumps(body)}\n\n"


def micros_qty(v: int | None) -> Decimal:
    return from_micros(v or 0)


__all__ = ["AUTHORIZED", "UNAUTHORIZED", "authenticated", "bar_message", "connected",
           "data_error", "dumps", "fill_event", "listening", "news_message", "pack",
           "sse_event", "subscription", "trade_update", "trades_and_quotes", "unpack", "ws_frame"]
