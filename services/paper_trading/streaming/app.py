"""The stream server's aiohttp app: routes, start-up/clean-up, /health, /ready, /metrics."""
from __future__ import annotations

import asyncio
import os
import time
from datetime import UTC, datetime
from typing import Any

from aiohttp import web

from services.paper_trading.streaming import sse, ws_handlers
from services.paper_trading.streaming.runtime import RUNTIME, Runtime

NAME = "paper_streams"


def _envelope(data: Any) -> dict[str, Any]:
    return {"status": "success", "data": data, "error": None,
            "timestamp": datetime.now(UTC).isoformat()}


async def _startup(app: web.Application) -> None:
    from services.paper_trading.service_layer.accounts import AccountDirectory
    from services.paper_trading.streaming.auth import StreamAuth
    from services.paper_trading.streaming.hub import Hub
    from services.paper_trading.streaming.reader import PollerThread, Reader
    from shared.db import Database
    from shared.db.notify import MARKET_CLOCK, MARKET_FEED, NEWS, TRADING, Waiter
    from shared.db.ownership import MARKET_TABLES
    from shared.market.clock import MarketClock

    rt = app[RUNTIME]
    settings = rt.settings
    rt.db = Database.from_settings(settings)
    rt.db.protect(MARKET_TABLES)  # the market's one writer is coordination
    clock = MarketClock(rt.db, settings.market.clock)
    rt.auth = StreamAuth(settings, AccountDirectory(rt.db, settings.paper_trading.starting_cash,
                                                    clock.now))
    reader = Reader(settings.database_path, settings)
    rt.hub = Hub(settings, reader)
    rt.hub.loop = asyncio.get_running_loop()
    # offer, not call_soon_threadsafe(publish) per poll: polls made while the loop is busy
    # fanning out are merged, never queued (see hub)
    scfg = settings.paper_trading.streams
    waiter = Waiter.for_database(rt.db, (TRADING, MARKET_FEED, MARKET_CLOCK, NEWS),
                                 poll_s=scfg.poll_s)
    rt.poller = PollerThread(reader, rt.hub.offer, scfg.poll_s, waiter, scfg.listen_fallback_s)
    rt.poller.start()
    rt.lag_task = asyncio.create_task(_watch_lag(rt))


async def _watch_lag(rt: Runtime) -> None:
    """Keep the event loop's worst lateness (a blocked loop delays every client)."""
    loop = asyncio.get_running_loop()
    while True:
        t0 = loop.time()
        await asyncio.sleep(0.05)
        lag = (loop.time() - t0 - 0.05) * 1000
        rt.lag_ms_max = max(rt.lag_ms_max, lag)
        rt.lag_ms_last = lag
        rt.lag_recent.append(lag)


async def _cleanup(app: web.Application) -> None:
    rt = app[RUNTIME]
    if rt.lag_task is not None:
        rt.lag_task.cancel()
    if rt.poller is not None:
        rt.poller.stop()
    if rt.dashboard is not None:
        rt.dashboard.stop()
    if rt.db is not None:
        rt.db.close()


async def health(request: web.Request) -> web.Response:
    """Process, database, poller and client counts."""
    rt = request.app[RUNTIME]
    t0 = time.perf_counter()
    reachable = rt.db.ping()
    latency = round((time.perf_counter() - t0) * 1000, 3)
    p = rt.poller
    poll_age = None if not p.last_poll else round(time.monotonic() - p.last_poll, 3)
    healthy = reachable and p.alive and (poll_age is None or poll_age < 10)
    data = {"service": NAME, "status": "healthy" if healthy else "unhealthy",
            "version": rt.settings.version, "pid": os.getpid(),
            "uptime_s": round(time.time() - rt.started, 3),
            "database": {"reachable": reachable, "latency_ms": latency},
            "poller": {"alive": p.alive, "polls": p.polls, "busy_polls": p.busy,
                       "errors": p.errors, "last_error": p.last_error,
                       "last_poll_age_s": poll_age,
                       "wake": p.waiter.snapshot() if p.waiter is not None else None},
            "loop_lag_ms": {"last": round(rt.lag_ms_last, 3), "max": round(rt.lag_ms_max, 3),
                            "max_5s": round(max(rt.lag_recent, default=0.0), 3)},
            "clients": rt.hub.snapshot(), "environment": rt.settings.env}
    return web.json_response(_envelope(data), status=200 if healthy else 503)


async def ready(request: web.Request) -> web.Response:
    """200 once the database answers and the poller runs."""
    from shared.market.feed import market_data_status

    rt = request.app[RUNTIME]
    reachable = rt.db.ping()
    data: dict[str, Any] = {"service": NAME, "ready": bool(reachable and rt.poller.alive),
                            "database": reachable}
    if reachable:
        data["market_data"] = market_data_status(rt.db, rt.settings)
    return web.json_response(_envelope(data), status=200 if data["ready"] else 503)


async def metrics(request: web.Request) -> web.Response:
    """Prometheus text: connections by kind and the hub's counters."""
    rt = request.app[RUNTIME]
    lines = []
    for key, value in rt.hub.snapshot().items():
        lines.append(f"# TYPE suite_streams_{key} gauge")
        lines.append(f'suite_streams_{key}{{service="{NAME}"}} {value}')
    lines.append(f'suite_streams_polls_total{{service="{NAME}"}} {rt.poller.polls}')
    lines.append(f'suite_streams_loop_lag_max_ms{{service="{NAME}"}} {rt.lag_ms_max:.3f}')
    lines.append(f'suite_streams_poll_errors_total{{service="{NAME}"}} {rt.poller.errors}')
    return web.Response(text="\n".join(lines) + "\n", content_type="text/plain")


_DOC_PATHS = {
    "/health": "Health: process, database, poller, clients",
    "/ready": "Readiness",
    "/metrics": "Prometheus metrics",
    "/stream": "websocket: Alpaca's trading stream (TradingStream, url_override)",
    "/v2/iex": "websocket: Alpaca's stock data stream (StockDataStream); also /v2/sip, /v2/test",
    "/v1beta3/crypto/us": "websocket: Alpaca's crypto data stream",
    "/v1beta1/news": "websocket: Alpaca's news stream (NewsDataStream)",
    "/api/v1/events/stream": "Server-Sent Events: an account's trade events",
    "/api/v1/dashboard/stream": "Server-Sent Events: the dashboard's live topics",
}


async def openapi(request: web.Request) -> web.Response:
    """A small OpenAPI document naming every route (the streams are not REST)."""
    paths = {p: {"get": {"summary": s, "responses": {"200": {"description": "OK"}}}}
             for p, s in _DOC_PATHS.items()}
    return web.json_response({"openapi": "3.1.0",
                              "info": {"title": f"{NAME} service",
                                       "version": request.app[RUNTIME].settings.version},
                              "paths": paths})


@web.middleware
async def _headers(request: web.Request, handler: Any) -> web.StreamResponse:
    resp = await handler(request)
    if not resp.prepared:
        resp.headers.setdefault("X-Content-Type-Options", "nosniff")
    return resp


def build_app(settings: Any) -> web.Application:
    """Return the app; nothing is opened or started before the app starts."""
    app = web.Application(middlewares=[_headers])
    app[RUNTIME] = Runtime(settings)
    app.on_startup.append(_startup)
    app.on_cleanup.append(_cleanup)
    r = app.router
    r.add_get("/health", health)
    r.add_get("/ready", ready)
    r.add_get("/metrics", metrics)
    r.add_get("/openapi.json", openapi)
    r.add_get("/stream", ws_handlers.trading_stream)
    for path in ws_handlers.DATA_PATHS:
        r.add_get(path, ws_handlers.data_stream)
    r.add_get("/api/v1/events/stream", sse.capped(sse.trade_events))
    r.add_get("/api/v1/dashboard/stream", sse.capped(sse.dashboard_stream))
    r.add_route("OPTIONS", "/api/v1/dashboard/stream", sse.dashboard_preflight)
    return app
