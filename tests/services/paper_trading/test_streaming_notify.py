"""The stream server on PostgreSQL wakes on the writers' notifications (shared.db.notify).

Its poller's backstop (``listen_fallback_s``) is set to 3 s here, so an update reaching an
unmodified alpaca-py ``TradingStream`` (or the SSE feed) well within that came from the
commit's NOTIFY, not from a poll; and the poller stays nearly idle meanwhile (SQLite's 10 ms
polling would have polled hundreds of times).
"""
from __future__ import annotations

import json
import threading
import time
import warnings
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
import requests

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
    from alpaca.trading.stream import TradingStream

from shared.config import Settings
from shared.db import Database
from shared.db import database as _database
from shared.db.postgres import PgDatabase
from tests.conftest import make_settings
from tests.pg import PgCluster
from tests.services.paper_trading.helpers import OPEN, seed_bars
from tests.services.paper_trading.streams_helpers import (
    run_sdk_stream,
    stop_sdk_stream,
    stream_server,
    wait_for,
)

pytestmark = pytest.mark.timeout(60)
FALLBACK_S = 3.0
FAST_S = 0.5  # an update this soon after its commit was woken by the notification
BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103), (103, 103, 95, 96)]


@pytest.fixture
def settings(tmp_path: Path, pg_cluster: PgCluster) -> Iterator[Settings]:
    url = pg_cluster.create_database()
    yield make_settings(tmp_path, database__url=url,
                        paper_trading__streams__listen_fallback_s=FALLBACK_S)
    for key in [k for k in _database._registry if k == url]:
        _database._registry.pop(key).close()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    assert isinstance(database, PgDatabase)
    yield database
    database.close()


def _health(ws_url: str) -> dict:
    return requests.get(ws_url.replace("ws://", "http://") + "/health", timeout=5).json()["data"]


def _event(u: object) -> str:
    ev = u.event  # type: ignore[attr-defined]
    return ev.value if hasattr(ev, "value") else ev


def test_a_fill_reaches_the_trading_stream_before_the_poll_would(settings, db, clock,  # noqa: ANN001
                                                                 live_url) -> None:
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    got: list[tuple[float, object]] = []

    async def on_update(u) -> None:  # noqa: ANN001
        got.append((time.monotonic(), u))

    with stream_server(settings) as ws_url:
        stream = TradingStream("trader-1", "s", paper=True, url_override=ws_url + "/stream")
        stream.subscribe_trade_updates(on_update)
        thread = run_sdk_stream(stream)
        try:
            wait_for(lambda: _health(ws_url)["clients"]["trading_clients"] == 1)
            polls0 = _health(ws_url)["poller"]["polls"]
            tc = TradingClient("trader-1", "s", url_override=live_url)
            committed = []
            order = tc.submit_order(MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY,
                                                       time_in_force=TimeInForce.DAY))
            committed.append(time.monotonic())  # a 2xx means committed
            wait_for(lambda: len(got) >= 1, timeout=FALLBACK_S * 2)
            rest = tc.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                     limit_price=50, time_in_force=TimeInForce.GTC))
            committed.append(time.monotonic())
            wait_for(lambda: len(got) >= 2, timeout=FALLBACK_S * 2)
            clock.t = OPEN + timedelta(minutes=3)
            tc.get_order_by_id(order.id)  # a read sweeps the fills up to the clock: commits one
            committed.append(time.monotonic())
            wait_for(lambda: len(got) >= 3, timeout=FALLBACK_S * 2)
            tc.cancel_order_by_id(rest.id)
            committed.append(time.monotonic())
            wait_for(lambda: len(got) >= 4, timeout=FALLBACK_S * 2)
            assert [_event(u) for _, u in got] == ["new", "new", "fill", "canceled"]
            fill = got[2][1]
            assert str(fill.order.id) == str(order.id)  # type: ignore[attr-defined]
            assert Decimal(str(fill.qty)) == Decimal(10)  # type: ignore[attr-defined]
            lat = [t - c for (t, _), c in zip(got, committed, strict=True)]
            assert max(lat) < FAST_S, f"latencies {[round(x * 1000) for x in lat]} ms"
            h = _health(ws_url)["poller"]
            assert h["wake"]["mode"] == "listen" and h["wake"]["listening"]
            assert h["wake"]["woken"] >= 4
            # woken by the commits, otherwise asleep: nothing like 10 ms polling
            assert h["polls"] - polls0 < 30, h
        finally:
            stop_sdk_stream(stream, thread)


def test_the_sse_feed_gets_an_event_before_the_poll_would(settings, db, clock,  # noqa: ANN001
                                                          live_url) -> None:
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    lines: list[tuple[float, str]] = []

    with stream_server(settings) as ws_url:
        http = ws_url.replace("ws://", "http://")

        def read() -> None:
            with requests.get(http + "/api/v1/events/stream", stream=True, timeout=20) as r:
                for line in r.iter_lines(decode_unicode=True):
                    if line and line.startswith("data:"):
                        lines.append((time.monotonic(), line[5:]))
                        return

        reader = threading.Thread(target=read, daemon=True)
        reader.start()
        wait_for(lambda: _health(ws_url)["clients"].get("sse_clients", 0) >= 1)
        time.sleep(0.2)
        tc = TradingClient("automation", "s", url_override=live_url)
        tc.submit_order(MarketOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                           time_in_force=TimeInForce.DAY))
        committed = time.monotonic()
        reader.join(FALLBACK_S * 2)
        assert lines, "no SSE event"
        assert json.loads(lines[0][1])
        assert lines[0][0] - committed < FAST_S
