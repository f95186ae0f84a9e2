"""The websocket endpoints: Alpaca's trading stream and its market-data / news streams.

Each connection is one coroutine reading the client's messages; what the server pushes is
written by the hub.  Any protocol error gets Alpaca's error message and the connection is
closed; so is a client that does not authenticate within ``auth_timeout_s``.  A connection
over ``max_clients`` (websockets and SSE together) or ``max_clients_per_ip`` is upgraded and
told as Alpaca tells it: on a data stream ``connected`` then ``{"T":"error","code":406,
"msg":"connection limit exceeded"}``, on the trading stream ``{"stream":"listening","data":
{"error":"connection limit exceeded"}}``; then it is closed.
"""
from __future__ import annotations

import asyncio
import json
import logging
from typing import Any

from aiohttp import WSMsgType, web

from services.paper_trading.streaming import messages as m
from services.paper_trading.streaming.hub import DataClient, Hub, TradingClient
from services.paper_trading.streaming.runtime import RUNTIME
from shared.errors import AppError

log = logging.getLogger("paper_streams.ws")

#: path -> (kind, channels); the SDK's StockDataStream(url_override=...) connects to these
DATA_PATHS: dict[str, tuple[str, tuple[str, ...]]] = {
    "/v2/iex": ("stock", m.STOCK_CHANNELS), "/v2/sip": ("stock", m.STOCK_CHANNELS),
    "/v2/delayed_sip": ("stock", m.STOCK_CHANNELS), "/v2/test": ("stock", m.STOCK_CHANNELS),
    "/v1beta3/crypto/us": ("crypto", m.STOCK_CHANNELS),
    "/v1beta1/news": ("news", m.NEWS_CHANNELS),
}


def _ws(request: web.Request) -> web.WebSocketResponse:
    cfg = request.app[RUNTIME].hub.cfg
    # no compression: one encoded frame is written to every subscriber as is
    return web.WebSocketResponse(compress=False, max_msg_size=cfg.max_message_bytes,
                                 autoping=True, heartbeat=None)


async def _receive(ws: web.WebSocketResponse, timeout: float | None) -> tuple[Any, bool] | None:
    """Return (payload, binary) of the next data message; None when the socket ended.

    Raises:
        asyncio.TimeoutError: nothing arrived in ``timeout`` seconds.
    """
    while True:
        msg = await ws.receive(timeout=timeout)
        if msg.type == WSMsgType.TEXT:
            return msg.data, False
        if msg.type == WSMsgType.BINARY:
            return msg.data, True
        if msg.type in (WSMsgType.CLOSE, WSMsgType.CLOSING, WSMsgType.CLOSED, WSMsgType.ERROR):
            return None


def client_ip(request: web.Request) -> str:
    """Return the peer's address (a proxy's own, behind one: see max_clients_per_ip)."""
    return request.remote or "unknown"


async def _refuse(request: web.Request, frames: list[bytes], *, text: bool
                  ) -> web.WebSocketResponse:
    """Answer a connection over a cap as Alpaca does: upgrade, send ``frames``, close."""
    ws = _ws(request)
    await ws.prepare(request)
    for frame in frames[:-1]:
        if text:
            await ws.send_str(frame.decode())
        else:
            await ws.send_bytes(frame)
    await _close(ws, frames[-1], text=text)
    return ws


# -- trading ---------------------------------------------------------------------------------
async def trading_stream(request: web.Request) -> web.StreamResponse:
    """``TradingStream``: authenticate, listen to trade_updates, then receive them."""
    hub: Hub = request.app[RUNTIME].hub
    ip = client_ip(request)
    if hub.admit(ip) is not None:  # the trading stream's form of Alpaca's 406
        return await _refuse(request, [m.dumps(m.trading_error(m.ERRORS[406]))], text=True)
    ws = _ws(request)
    client: TradingClient | None = None
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hub.cfg.auth_timeout_s
    try:
        await ws.prepare(request)
        while True:
            timeout = None if client is not None else max(0.0, deadline - loop.time())
            try:
                got = await _receive(ws, timeout)
            except TimeoutError:
                hub.stats["auth_timeouts"] += 1
                await _close(ws, m.dumps(m.UNAUTHORIZED), text=True)
                break
            if got is None:
                break
            try:
                msg = json.loads(got[0])
                action = msg.get("action") if isinstance(msg, dict) else None
                data = msg.get("data") if isinstance(msg, dict) else None
            except (ValueError, UnicodeDecodeError):
                action, data = None, None
            if action in ("authenticate", "auth") and client is None:
                if action == "auth":  # the data streams' form, also accepted by Alpaca
                    data = {"key_id": msg.get("key"), "secret_key": msg.get("secret")}
                account = await _account(request, data)
                if account is None:
                    hub.stats["auth_failed"] += 1
                    await _close(ws, m.dumps(m.UNAUTHORIZED), text=True)
                    break
                client = TradingClient(hub, request.transport, account)
                await ws.send_str(m.dumps(m.AUTHORIZED).decode())
            elif action == "listen" and client is not None and isinstance(data, dict) \
                    and isinstance(data.get("streams"), list):
                streams = [s for s in data["streams"] if s == "trade_updates"]
                if streams:
                    hub.add_trading(client)
                else:
                    hub.remove_trading(client)
                await ws.send_str(m.dumps(m.listening(streams)).decode())
            elif client is None:
                hub.stats["unauthenticated"] += 1
                await _close(ws, m.dumps(m.UNAUTHORIZED), text=True)
                break
            else:
                hub.stats["invalid"] += 1
                await _close(ws, m.dumps(m.trading_error("invalid syntax")), text=True)
                break
    finally:
        hub.release(ip)
        if client is not None:
            client.closed = True
            hub.remove_trading(client)
    return ws


async def _account(request: web.Request, data: Any) -> int | None:
    if not isinstance(data, dict):
        return None
    auth = request.app[RUNTIME].auth
    try:
        return await asyncio.get_running_loop().run_in_executor(
            None, auth.account, data.get("key_id"), data.get("secret_key"))
    except AppError:
        return None


async def _close(ws: web.WebSocketResponse, payload: bytes, *, text: bool) -> None:
    try:
        if text:
            await ws.send_str(payload.decode())
        else:
            await ws.send_bytes(payload)
        await asyncio.wait_for(ws.close(), 2.0)
    except (ConnectionError, TimeoutError, RuntimeError):
        pass


# -- market data and news ----------------------------------------------------------------------
async def data_stream(request: web.Request) -> web.StreamResponse:
    """``StockDataStream`` / ``CryptoDataStream`` / ``NewsDataStream``: Alpaca's protocol."""
    hub: Hub = request.app[RUNTIME].hub
    kind, channels = DATA_PATHS[request.path]
    binary = "msgpack" in request.headers.get("Content-Type", "")
    ip = client_ip(request)
    if hub.admit(ip) is not None:  # Alpaca: "connected", then 406 where auth's reply goes
        return await _refuse(request, [m.pack(m.connected(), binary),
                                       m.pack(m.data_error(406), binary)], text=not binary)
    ws = _ws(request)
    client = DataClient(hub, request.transport, kind, binary)
    authed = False
    loop = asyncio.get_running_loop()
    deadline = loop.time() + hub.cfg.auth_timeout_s

    async def reply(msgs: list[dict[str, Any]]) -> None:
        payload = m.pack(msgs, binary)
        if binary:
            await ws.send_bytes(payload)
        else:
            await ws.send_str(payload.decode())

    async def fail(code: int) -> None:
        hub.stats[f"error_{code}"] += 1
        await _close(ws, m.pack(m.data_error(code), binary), text=not binary)

    try:
        await ws.prepare(request)
        await reply(m.connected())
        while True:
            timeout = None if authed else max(0.0, deadline - loop.time())
            try:
                got = await _receive(ws, timeout)
            except TimeoutError:
                await fail(404)
                break
            if got is None:
                break
            try:
                msg = m.unpack(got[0], got[1])
            except (ValueError, UnicodeDecodeError):
                msg = None
            action = msg.get("action") if isinstance(msg, dict) else None
            if action == "auth":
                if authed:
                    await reply(m.data_error(403))
                    continue
                if not await _data_auth(request, msg):
                    await fail(402)
                    break
                authed = True
                hub.add_data(client)
                await reply(m.authenticated())
            elif action in ("subscribe", "unsubscribe"):
                if not authed:
                    await fail(401)
                    break
                change = _channels(msg, channels)
                if change is None:
                    await fail(400)
                    break
                for ch, syms in change.items():
                    if action == "subscribe":
                        client.subs[ch].update(syms)
                    else:
                        client.subs[ch].difference_update(syms)
                if kind != "news" and "trades" in change:  # Alpaca mirrors trades' symbols
                    for extra in ("corrections", "cancelErrors"):
                        client.subs[extra] = set(client.subs["trades"])
                hub.subscriptions_changed()
                await reply(m.subscription(client.subs, channels))
            else:
                await fail(400)
                break
    finally:
        hub.release(ip)
        client.closed = True
        hub.remove_data(client)
    return ws


def _channels(msg: dict[str, Any], channels: tuple[str, ...]) -> dict[str, set[str]] | None:
    """Return {channel: symbols} of a (un)subscribe message; None when it is malformed."""
    out: dict[str, set[str]] = {}
    for key, value in msg.items():
        if key == "action":
            continue
        if key not in channels:
            continue  # Alpaca ignores channels a feed does not have
        if not isinstance(value, list) or not all(isinstance(s, str) and s for s in value):
            return None
        out[key] = {s if s == "*" else s.upper() for s in value}
    return out


async def _data_auth(request: web.Request, msg: dict[str, Any]) -> bool:
    auth = request.app[RUNTIME].auth
    try:
        auth.check_key(msg.get("key"), msg.get("secret"))
    except AppError:
        return False
    return True
