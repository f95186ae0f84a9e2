"""Broker mode ``alpaca``: the SDK talks to our service, which forwards to a fake of Alpaca."""
from __future__ import annotations

import socket
import warnings
from collections.abc import Iterator
from decimal import Decimal as D

import pytest

from services.paper_trading import create_app
from shared.errors import ConfigError
from shared.http import reset_breakers
from tests.conftest import make_settings, serve
from tests.services.paper_trading.fake_alpaca import FakeAlpaca
from tests.services.paper_trading.helpers import Clock

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, OrderStatus, QueryOrderStatus, TimeInForce
    from alpaca.trading.requests import (
        ClosePositionRequest,
        GetCalendarRequest,
        GetOrdersRequest,
        LimitOrderRequest,
        MarketOrderRequest,
        ReplaceOrderRequest,
    )


@pytest.fixture
def fake() -> Iterator[tuple[FakeAlpaca, str]]:
    reset_breakers()  # one breaker per process: start each test with it closed
    f = FakeAlpaca()
    with serve(f.app()) as url:
        yield f, url
    reset_breakers()


def _app(tmp_path, url: str):  # noqa: ANN001, ANN202
    s = make_settings(tmp_path, paper_trading__broker="alpaca", alpaca__api_key="AKFAKE",
                      alpaca__secret_key="SKFAKE", alpaca__trading_url=url, http__timeout_s=2)
    return create_app(s, now=Clock())


@pytest.fixture
def ours(tmp_path, db, fake) -> Iterator[tuple[FakeAlpaca, str, object]]:  # noqa: ANN001
    f, url = fake
    app = _app(tmp_path, url)
    with serve(app) as our_url:
        yield f, our_url, app


def test_the_sdk_works_through_the_forwarding_broker(ours) -> None:  # noqa: ANN001
    fake, url, _ = ours
    tc = TradingClient("k", "s", url_override=url)
    acct = tc.get_account()
    assert (acct.account_number, acct.cash, acct.equity, acct.buying_power) == (
        "PA3FAKE", "1000", "1550", "2000")
    o = tc.submit_order(LimitOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY,
                                          time_in_force=TimeInForce.DAY, limit_price=10.5,
                                          client_order_id="mine-1"))
    method, path, key, body = fake.requests[-1]
    assert (method, path, key) == ("POST", "/v2/orders", "AKFAKE")  # our keys, not the caller's
    assert body == {"symbol": "AAPL", "qty": 2.0, "side": "buy", "type": "limit",
                    "time_in_force": "day", "limit_price": 10.5, "client_order_id": "mine-1"}
    assert o.status == OrderStatus.ACCEPTED and D(o.limit_price) == D("10.5")
    assert tc.get_order_by_id(o.id).client_order_id == "mine-1"
    assert tc.get_order_by_client_id("mine-1").id == o.id
    assert [x.id for x in tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN))] == [o.id]
    new = tc.replace_order_by_id(o.id, ReplaceOrderRequest(limit_price=11))
    assert new.replaces == o.id and D(new.limit_price) == 11
    tc.cancel_order_by_id(new.id)
    assert tc.get_order_by_id(new.id).status == OrderStatus.CANCELED
    m = tc.submit_order(MarketOrderRequest(symbol="MSFT", qty=1, side=OrderSide.SELL,
                                           time_in_force=TimeInForce.DAY))
    assert [r.id for r in tc.cancel_orders()] == [m.id]
    pos = tc.get_open_position("AAPL")
    assert (pos.qty, pos.avg_entry_price, pos.current_price, pos.market_value) == (
        "5", "100", "110", "550")
    assert len(tc.get_all_positions()) == 1
    closed = tc.close_position("AAPL", ClosePositionRequest(qty="5"))
    assert closed.side == OrderSide.SELL and closed.qty == "5"
    assert fake.requests[-1][:2] == ("DELETE", "/v2/positions/AAPL")
    assert tc.close_all_positions() == []
    clock = tc.get_clock()
    assert clock.is_open and clock.next_close.hour == 16
    cal = tc.get_calendar(GetCalendarRequest(start="2024-01-02", end="2024-01-03"))
    assert [d.date.isoformat() for d in cal] == ["2024-01-02", "2024-01-03"]


def test_alpaca_403_is_our_403_with_its_message(ours) -> None:  # noqa: ANN001
    _, url, app = ours
    tc = TradingClient("k", "s", url_override=url)
    with pytest.raises(APIError) as info:
        tc.submit_order(MarketOrderRequest(symbol="AAPL", qty=100, side=OrderSide.BUY,
                                           time_in_force=TimeInForce.DAY))
    assert info.value.status_code == 403 and info.value.code == 40310000
    assert info.value.message == "insufficient buying power"
    r = app.test_client().post("/api/v1/orders", json={"symbol": "AAPL", "side": "buy",
                                                        "qty": 100})
    assert r.status_code == 403 and r.json["error"]["message"] == "insufficient buying power"
    with pytest.raises(APIError) as info:
        tc.get_open_position("TSLA")
    assert info.value.status_code == 404 and "does not exist" in info.value.message


def test_alpaca_5xx_and_no_answer_are_a_503_not_a_crash(ours, tmp_path) -> None:  # noqa: ANN001
    fake, url, app = ours
    client = app.test_client()
    fake.fail_with = 500
    r = client.get("/api/v1/account")
    assert r.status_code == 503 and r.json["status"] == "error"
    assert r.json["error"]["code"] == "alpaca_unavailable" and r.headers["Retry-After"]
    v2 = client.post("/v2/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1})
    assert v2.status_code == 503 and v2.json["message"].startswith("Alpaca answered 500")
    fake.fail_with = None
    assert client.get("/v2/account").status_code == 200  # still serving
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        dead = f"http://127.0.0.1:{s.getsockname()[1]}"
    reset_breakers()
    down = _app(tmp_path / "down", dead).test_client()
    r = down.get("/v2/positions")
    assert r.status_code == 503 and "could not be reached" in r.json["message"]


def test_breaker_opens_after_repeated_failures(ours) -> None:  # noqa: ANN001
    fake, _, app = ours
    client = app.test_client()
    fake.fail_with = 502
    codes = [client.get("/v2/clock").status_code for _ in range(6)]
    assert codes == [503] * 6
    sent = len(fake.requests)
    fake.fail_with = None
    r = client.get("/v2/clock")  # the breaker is open: answered without asking Alpaca
    assert r.status_code == 503 and "circuit open" in r.json["message"]
    assert len(fake.requests) == sent


def test_simulator_only_routes_and_missing_keys(ours, tmp_path) -> None:  # noqa: ANN001
    _, _, app = ours
    r = app.test_client().post("/api/v1/account/reset", json={})
    assert r.status_code == 422 and r.json["error"]["details"]["field"] == "paper_trading.broker"
    with pytest.raises(ConfigError):
        create_app(make_settings(tmp_path / "nokeys", paper_trading__broker="alpaca"))
