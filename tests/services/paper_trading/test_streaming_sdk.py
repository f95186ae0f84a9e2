"""The unmodified alpaca-py SDK's streams against the stream server (in-process, loopback)."""
from __future__ import annotations

import time
import warnings
from datetime import timedelta
from decimal import Decimal as D

import pytest
import requests

with warnings.catch_warnings():  # alpaca-py imports websockets.legacy, which warns
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.data.live.stock import StockDataStream
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, TimeInForce
    from alpaca.trading.requests import LimitOrderRequest, MarketOrderRequest
    from alpaca.trading.stream import TradingStream

from tests.services.paper_trading.helpers import OPEN, seed_bars
from tests.services.paper_trading.streams_helpers import (
    run_sdk_stream,
    stop_sdk_stream,
    stream_server,
    wait_for,
)

pytestmark = pytest.mark.timeout(60)
BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103), (103, 103, 95, 96),
        (96, 97, 94, 95), (95, 98, 95, 97)]


def _clients(ws_url: str) -> dict:
    http = ws_url.replace("ws://", "http://")
    return requests.get(http + "/health", timeout=5).json()["data"]["clients"]


def test_a_fill_reaches_the_trading_stream_as_a_trade_update(settings, db, clock,  # noqa: ANN001
                                                              live_url) -> None:
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    got: list = []
    other: list = []

    async def on_update(u) -> None:  # noqa: ANN001
        got.append(u)

    async def on_other(u) -> None:  # noqa: ANN001
        other.append(u)

    with stream_server(settings) as ws_url:
        stream = TradingStream("trader-1", "s", paper=True, url_override=ws_url + "/stream")
        stream.subscribe_trade_updates(on_update)
        bystander = TradingStream("trader-2", "s", url_override=ws_url + "/stream")
        bystander.subscribe_trade_updates(on_other)
        threads = [run_sdk_stream(stream), run_sdk_stream(bystander)]
        try:
            wait_for(lambda: _clients(ws_url)["trading_clients"] == 2)
            tc = TradingClient("trader-1", "s", url_override=live_url)
            order = tc.submit_order(MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY,
                                                       time_in_force=TimeInForce.DAY))
            rest = tc.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                                     limit_price=50, time_in_force=TimeInForce.GTC))
            clock.t = OPEN + timedelta(minutes=3)
            tc.get_order_by_id(order.id)  # a read sweeps the fills up to the clock
            tc.cancel_order_by_id(rest.id)
            wait_for(lambda: len(got) >= 4)
            events = [(u.event.value if hasattr(u.event, "value") else u.event) for u in got]
            assert events == ["new", "new", "fill", "canceled"], events
            fill = got[2]
            assert str(fill.order.id) == str(order.id) and fill.order.status.value == "filled"
            assert D(str(fill.price)) == D(101) and D(str(fill.qty)) == D(10)
            assert D(str(fill.position_qty)) == D(10) and fill.execution_id is not None
            # the order object is the REST API's own
            assert fill.order.filled_qty == "10" and fill.order.symbol == "AAPL"
            assert str(got[3].order.id) == str(rest.id) and got[3].order.status.value == "canceled"
            assert other == []  # another account's stream sees none of it
        finally:
            for s, t in zip((stream, bystander), threads, strict=True):
                stop_sdk_stream(s, t)


def test_subscribed_bars_reach_the_stock_stream_on_each_clock_step(settings, db) -> None:  # noqa: ANN001
    from shared.market import ClockController

    seed_bars(db, "AAPL", OPEN, BARS)
    seed_bars(db, "MSFT", OPEN, [(b[0] * 3, b[1] * 3, b[2] * 3, b[3] * 3) for b in BARS])
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", replay_start="2024-01-02", replay_end="2024-01-03")
    ctl.advance(OPEN + timedelta(minutes=1))
    bars: list = []
    trades: list = []
    quotes: list = []

    async def on_bar(b) -> None:  # noqa: ANN001
        bars.append(b)

    async def on_trade(t) -> None:  # noqa: ANN001
        trades.append(t)

    async def on_quote(q) -> None:  # noqa: ANN001
        quotes.append(q)

    with stream_server(settings) as ws_url:
        stream = StockDataStream("k", "s", url_override=ws_url + "/v2/iex")
        stream.subscribe_bars(on_bar, "AAPL")
        stream.subscribe_trades(on_trade, "AAPL")
        stream.subscribe_quotes(on_quote, "AAPL")
        thread = run_sdk_stream(stream)
        try:
            wait_for(lambda: _clients(ws_url)["data_clients"] == 1)
            wait_for(lambda: stream._running)
            for step in range(2, 4):
                ctl.advance(OPEN + timedelta(minutes=step))
                wait_for(lambda s=step: len(bars) >= s - 1)
            assert [b.symbol for b in bars] == ["AAPL", "AAPL"]  # MSFT is not subscribed
            assert [b.timestamp for b in bars] == [OPEN + timedelta(minutes=1),
                                                   OPEN + timedelta(minutes=2)]
            assert (bars[0].open, bars[0].high, bars[0].low, bars[0].close) == (101, 102, 100,
                                                                                101.5)
            wait_for(lambda: len(trades) >= 8 and len(quotes) >= 8)  # four prints a bar
            assert [t.price for t in trades[4:8]] == [102, 101, 104, 103]  # o, l, h, c
            assert trades[7].timestamp == OPEN + timedelta(minutes=3, seconds=-1)
            assert quotes[7].bid_price < 103 < quotes[7].ask_price
            # unsubscribe: the next step brings no bar
            stream.unsubscribe_bars("AAPL")
            time.sleep(0.3)  # the server has read the unsubscribe before the clock moves
            ctl.advance(OPEN + timedelta(minutes=4))
            wait_for(lambda: len(trades) >= 12)
            assert len(bars) == 2
        finally:
            stop_sdk_stream(stream, thread)
