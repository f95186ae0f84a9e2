"""Server-Sent Events served from the event loop instead of a gunicorn worker each.

- ``GET /api/v1/events/stream``: paper trading's trade-event feed (``trade_events`` of one
  account), the Flask route's semantics: ``retry: 2000``, frames ``id/event/data``, resume
  with ``Last-Event-ID`` or ``after``, ``max_events``, ``idle_timeout_s``, keep-alive comments
  every ``paper_trading.events_heartbeat_s``.  Catch-up reads run in a thread; live events
  come from the one poller through a bounded queue per client.
- ``GET /api/v1/dashboard/stream``: the dashboard's live topics of one paper account
  (``?account=``, the automation's by default; ``dashboard.live.AccountPollers``: one polling
  thread per account someone streams, started by its first subscriber), same frames and
  ``topics``/``Last-Event-ID``/``stream_max_s``/heartbeat/``reconnect`` semantics.  The
  dashboard's own ``/api/v1/stream`` answers 307 to here; the browser's EventSource follows
  it, so this route answers CORS for the dashboard's origin.
"""
from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import BaseModel, ConfigDict, Field
from pydantic import ValidationError as PydanticError

from services.paper_trading.streaming.hub import SSEClient
from services.paper_trading.streaming.runtime import RUNTIME
from services.paper_trading.streaming.ws_handlers import client_ip
from shared.db.bounds import DB_INT_MAX, db_int
from shared.errors import AppError
from shared.web.stream_urls import forwarded_port

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
#: seconds a subscriber refused over a connection cap is told to wait
RETRY_AFTER_S = 5
SSE_HEADERS = {"Content-Type": "text/event-stream", "Cache-Control": "no-cache",
               "X-Accel-Buffering": "no"}


class StreamQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = Field(None, max_length=128)
    after: int | None = Field(None, ge=0, le=DB_INT_MAX)
    max_events: int | None = Field(None, ge=1, le=DB_INT_MAX)
    idle_timeout_s: float | None = Field(None, gt=0, le=3600)


class DashboardQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    account: str | None = Field(None, max_length=128)
    topics: str | None = Field(None, max_length=200)


def error(status: int, code: str, message: str, field: str | None = None,
          headers: dict[str, str] | None = None) -> web.Response:
    """Return the suite's JSON error envelope."""
    body = {"status": "error", "data": None,
            "error": {"code": code, "message": message,
                      "details": {"field": field} if field else None}}
    return web.json_response(body, status=status, headers=headers)


def over_limit(cap: str) -> web.Response:
    """503 for a subscriber over ``cap`` (``max_clients`` or ``max_clients_per_ip``), the
    suite's error envelope naming the cap, and Retry-After: when to try again."""
    return error(503, "connection_limit", "connection limit exceeded", cap,
                 headers={"Retry-After": str(RETRY_AFTER_S)})


def capped(handler: Handler) -> Handler:
    """Wrap an SSE route: the response counts towards the hub's connection caps while it is
    open (websockets and SSE share them); over a cap the answer is ``over_limit``."""
    @functools.wraps(handler)
    async def wrapper(request: web.Request) -> web.StreamResponse:
        hub = request.app[RUNTIME].hub
        ip = client_ip(request)
        refused = hub.admit(ip)
        if refused is not None:
            return over_limit(refused)
        try:
            return await handler(request)
        finally:
            hub.release(ip)
    return wrapper


def _query(model: type[BaseModel], request: web.Request) -> Any:
    try:
        return model.model_validate(dict(request.query))
    except PydanticError as exc:
        err = exc.errors()[0]
        field = ".".join(str(x) for x in err["loc"])
        raise web.HTTPBadRequest(text=json.dumps({
            "status": "error", "data": None,
            "error": {"code": "validation_error", "message": f"{field}: {err['msg']}",
                      "details": {"field": field}}}), content_type="application/json") from None


async def trade_events(request: web.Request) -> web.StreamResponse:
    """Server-Sent Events of an account's order and fill events (resume with Last-Event-ID)."""
    q = _query(StreamQuery, request)
    hub = request.app[RUNTIME].hub
    loop = asyncio.get_running_loop()
    try:
        account = await loop.run_in_executor(None, _account, request.app[RUNTIME].auth, q.account)
    except AppError as exc:
        return error(exc.http_status, exc.code, exc.message, "account")
    last = q.after
    if last is None:
        header = request.headers.get("Last-Event-ID", "0")
        last = db_int(header) or 0
    resp = web.StreamResponse(headers=SSE_HEADERS)
    await resp.prepare(request)
    client = SSEClient(account, asyncio.Queue(hub.cfg.sse_queue))
    hub.add_sse(client)  # before the catch-up: nothing falls between the two
    sent = 0
    heartbeat = request.app[RUNTIME].settings.paper_trading.events_heartbeat_s
    try:
        await resp.write(b"retry: 2000\n\n")
        reader = hub.reader
        # what the poller has read so far (or skipped while no one listened): the catch-up
        # covers it, the queue brings the rest (ids are compared, so an overlap is harmless)
        upto = reader.marks["events"] if reader is not None else 0
        while reader is not None:  # catch up from the table, a page at a time
            rows = await loop.run_in_executor(None, reader.events_after, account, last, upto)
            for event_id, text in rows:
                await resp.write(text.encode())
                last, sent = event_id, sent + 1
                if q.max_events is not None and sent >= q.max_events:
                    return resp
            if len(rows) < 200:
                break
        idle_since = beat = time.monotonic()
        while not client.overflowed:
            wait = heartbeat - (time.monotonic() - beat)
            if q.idle_timeout_s is not None:
                wait = min(wait, q.idle_timeout_s - (time.monotonic() - idle_since))
            try:
                item = await asyncio.wait_for(client.queue.get(), max(wait, 0.0))
            except TimeoutError:
                item = None
            now = time.monotonic()
            if item is not None and item[0] > last:
                await resp.write(item[1].encode())
                last, sent, idle_since = item[0], sent + 1, now
                if q.max_events is not None and sent >= q.max_events:
                    break
                continue
            if q.idle_timeout_s is not None and now - idle_since >= q.idle_timeout_s:
                break
            if now - beat >= heartbeat:
                beat = now
                await resp.write(b": keep-alive\n\n")
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        hub.remove_sse(client)
    return resp


def _account(auth: Any, ref: str | None) -> int:
    from services.paper_trading.service_layer.accounts import AUTOMATION

    if not ref:
        return AUTOMATION
    return int(auth.directory.get(ref).id)


# -- the dashboard's live stream ---------------------------------------------------------------
def dashboard_origin_ok(origin: str | None, settings: Any) -> bool:
    """Return True for the dashboard's own origin (any host name, the dashboard's port) or a
    configured CORS origin: a page elsewhere must not read the suite's live data."""
    if not origin:
        return False
    if origin in settings.security.cors_origins:
        return True
    parts = urlsplit(origin)
    try:
        port = parts.port
    except ValueError:
        return False
    dashboard = settings.port("dashboard")
    return parts.scheme in ("http", "https") and (
        port == dashboard or (port is None and forwarded_port(parts.hostname) == dashboard))


async def dashboard_stream(request: web.Request) -> web.StreamResponse:
    """The dashboard's live topics: health, clock, orders, positions, account, fills..."""
    q = _query(DashboardQuery, request)
    settings = request.app[RUNTIME].settings
    cfg = settings.dashboard
    try:
        account = await asyncio.get_running_loop().run_in_executor(
            None, _account, request.app[RUNTIME].auth, q.account)
    except AppError as exc:
        return error(exc.http_status, exc.code, exc.message, "account")
    poller = _dashboard_poller(request.app, account)
    topics = {t for t in (q.topics or "").split(",") if t} or None
    header = request.headers.get("Last-Event-ID", "")
    last_id = db_int(header)
    headers = dict(SSE_HEADERS)
    origin = request.headers.get("Origin")
    if dashboard_origin_ok(origin, settings):
        headers.update({"Access-Control-Allow-Origin": str(origin), "Vary": "Origin"})
    resp = web.StreamResponse(headers=headers)
    await resp.prepare(request)
    from dashboard.live import KEEP_ALIVE, RECONNECT

    first, cursor = poller.join(topics, last_id)
    try:
        await resp.write(b"retry: 2000\n\n")
        deadline = time.monotonic() + cfg.stream_max_s
        for text in first:
            await resp.write(text.encode())
        beat = time.monotonic()
        tick = min(0.1, cfg.poll_interval_s / 2)
        while time.monotonic() < deadline:
            await asyncio.sleep(tick)
            fresh, cursor = poller.changes(cursor, topics)  # a short lock, never a wait
            for text in fresh:
                await resp.write(text.encode())
            if time.monotonic() - beat >= cfg.stream_heartbeat_s:
                beat = time.monotonic()
                await resp.write(KEEP_ALIVE.encode())
        await resp.write(RECONNECT.encode())
    except (ConnectionError, asyncio.CancelledError):
        pass
    finally:
        poller.leave()
    return resp


def _dashboard_poller(app: web.Application, account: int) -> Any:
    """Return ``account``'s dashboard poller; the pollers are built on first use."""
    rt = app[RUNTIME]
    if rt.dashboard is None:
        from dashboard.backend import Backend
        from dashboard.live import AccountPollers
        from dashboard.sources import sources_by_account

        interval = rt.settings.dashboard.poll_interval_s
        rt.dashboard = AccountPollers(
            sources_by_account(Backend(rt.settings, rt.db), interval), interval)
    return rt.dashboard.get(account)


async def dashboard_preflight(request: web.Request) -> web.Response:
    """CORS preflight (an EventSource sends none, but a fetch of the stream may)."""
    origin = request.headers.get("Origin")
    if not dashboard_origin_ok(origin, request.app[RUNTIME].settings):
        return web.Response(status=204)
    return web.Response(status=204, headers={"Access-Control-Allow-Origin": str(origin),
                                             "Access-Control-Allow-Methods": "GET",
                                             "Access-Control-Allow-Headers": "Last-Event-ID",
                                             "Vary": "Origin"})
