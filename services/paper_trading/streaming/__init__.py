"""Paper trading's streams: Alpaca's websockets and the suite's SSE feeds, one asyncio process.

Serves, on its own port (``services.paper_streams``, 5007), what the unmodified alpaca-py SDK
reads with ``url_override``: ``TradingStream`` at ``ws://HOST:PORT/stream`` (JSON, the
account's trade_updates), ``StockDataStream`` at ``/v2/iex`` (``/v2/sip``, ``/v2/test``),
``CryptoDataStream`` at ``/v1beta3/crypto/us`` and ``NewsDataStream`` at ``/v1beta1/news``
(msgpack or JSON lists of ``{"T": ...}``), plus the two SSE feeds that used to hold a gunicorn
worker each: paper trading's ``/api/v1/events/stream`` and the dashboard's live stream (their
Flask routes answer 307 to here).

Why aiohttp (one app, one port, one loop): a stream is a long-lived connection that is idle
almost always, which a sync gunicorn worker serves by blocking a whole process per client
(two idle SSE subscribers took paper trading down).  ``websockets`` alone serves websockets
well but its ``process_request`` can only answer a finished response, not stream SSE; aiohttp
serves both from one event loop, so thousands of idle clients cost a coroutine each.  One
poller thread per process reads the database (``reader``) and hands each batch to the loop,
which writes pre-encoded frames to every subscriber (``hub``).

``create_app(settings)`` (alias ``create_stream_app``) returns the aiohttp app without opening
anything; the database, the poller and the accounts are set up when the app starts.
"""
from __future__ import annotations

from typing import Any

from shared.config import Settings, load_settings

NAME = "paper_streams"


def create_stream_app(settings: Settings | None = None) -> Any:
    """Return the stream server's aiohttp ``Application`` (nothing starts until it runs)."""
    from services.paper_trading.streaming.app import build_app

    return build_app(settings or load_settings())


create_app = create_stream_app

__all__ = ["NAME", "create_app", "create_stream_app"]
