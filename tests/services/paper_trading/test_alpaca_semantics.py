"""Alpaca's account and order semantics, driven by the unmodified alpaca-py SDK against the
service in a real server thread: one account per key id, and each point where the simulator
used to differ from Alpaca."""
from __future__ import annotations

import warnings
from datetime import timedelta
from decimal import Decimal as D

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderClass, OrderSide, QueryOrderStatus, TimeInForce
    from alpaca.trading.requests import (
        GetOrdersRequest,
        LimitOrderRequest,
        MarketOrderRequest,
        StopLossRequest,
        TakeProfitRequest,
    )

from services.paper_trading.service_layer.service import PaperTradingService
from shared.config import Settings
from shared.db import Database
from tests.services.paper_trading.helpers import OPEN, flat, seed_bars

M = timedelta(minutes=1)


@pytest.fixture
def market(db: Database, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 60))
    seed_bars(db, "MSFT", OPEN, flat(50, 60))
    clock.t = OPEN + M


def bot(url: str, key: str) -> TradingClient:
    return TradingClient(key, "secret", url_override=url)


def fill(svc: PaperTradingService, clock) -> None:  # noqa: ANN001
    clock.advance(2)
    svc.process_until()


def buy(tc: TradingClient, qty: float, symbol: str = "AAPL", **kw: object):  # noqa: ANN201
    return tc.submit_order(MarketOrderRequest(symbol=symbol, qty=qty, side=OrderSide.BUY,
                                              time_in_force=TimeInForce.DAY, **kw))


def code(exc: pytest.ExceptionInfo[APIError]) -> int:
    return exc.value.status_code


def test_each_key_id_trades_its_own_account(live_url, market, svc, clock) -> None:  # noqa: ANN001
    a, b = bot(live_url, "bot-a"), bot(live_url, "bot-b")
    auto = bot(live_url, "automation")
    buy(a, 7)
    buy(b, 3, "MSFT")
    buy(auto, 2)
    svc.submit_order(_req("MSFT", 5))  # the automation, through its own /api/v1 path
    fill(svc, clock)
    pa, pb, pauto = (sorted((p.symbol, p.qty) for p in c.get_all_positions())
                     for c in (a, b, auto))
    assert pa == [("AAPL", "7")] and pb == [("MSFT", "3")]
    assert pauto == [("AAPL", "2"), ("MSFT", "5")]
    # each ledger exact to the cent: cash = start - cost, equity = cash + market value
    for c, cost in ((a, D(700)), (b, D(150)), (auto, D(450))):
        acct = c.get_account()
        assert D(acct.cash) == D(100000) - cost
        assert D(acct.equity) == D(acct.cash) + D(acct.long_market_value) == D(100000)
    # nothing the automation does touches a bot: it flattens its own book only
    svc.close_all_positions(account=1)
    fill(svc, clock)
    assert [p.symbol for p in a.get_all_positions()] == ["AAPL"]
    assert auto.get_all_positions() == []
    # another account's order is not found
    oid = a.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL))[0].id
    with pytest.raises(APIError) as e:
        b.get_order_by_id(oid)
    assert code(e) == 404
    for acct in (1, 2, 3):
        assert svc.invariants(account=acct)["ok"]


def _req(symbol: str, qty: int):  # noqa: ANN202
    from shared.trading.schemas import OrderRequest

    return OrderRequest(symbol=symbol, side="buy", qty=qty, type="market", time_in_force="day")


def test_client_order_id_is_unique_per_account_and_idempotent(live_url, market) -> None:  # noqa: ANN001
    a, b = bot(live_url, "bot-a"), bot(live_url, "bot-b")
    first = buy(a, 1, client_order_id="mine-1")
    assert buy(a, 1, client_order_id="mine-1").id == first.id  # a retry
    with pytest.raises(APIError) as e:
        buy(a, 2, client_order_id="mine-1")
    assert code(e) == 422 and "client_order_id must be unique" in str(e.value)
    assert buy(b, 2, client_order_id="mine-1").id != first.id  # another account's own id


def test_no_flip_in_one_order_and_held_quantity(live_url, market, svc, clock) -> None:  # noqa: ANN001
    a = bot(live_url, "bot-a")
    buy(a, 7)
    fill(svc, clock)
    with pytest.raises(APIError) as e:
        a.submit_order(MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.SELL,
                                          time_in_force=TimeInForce.DAY))
    assert code(e) == 403 and "insufficient qty available" in str(e.value)
    a.submit_order(LimitOrderRequest(symbol="AAPL", qty=5, side=OrderSide.SELL,
                                     time_in_force=TimeInForce.GTC, limit_price=150))
    assert a.get_open_position("AAPL").qty_available == "2"
    with pytest.raises(APIError) as e:
        a.submit_order(MarketOrderRequest(symbol="AAPL", qty=3, side=OrderSide.SELL,
                                          time_in_force=TimeInForce.DAY))
    assert code(e) == 403 and "available: 2" in str(e.value)


def test_a_cash_account_closes_its_positions(tmp_path, db) -> None:  # noqa: ANN001
    from services.paper_trading import create_app
    from tests.conftest import make_settings, serve
    from tests.services.paper_trading.helpers import Clock

    s: Settings = make_settings(tmp_path, paper_trading__account_type="cash")
    clock = Clock(OPEN + M)
    seed_bars(db, "AAPL", OPEN, flat(100, 60))
    seed_bars(db, "MSFT", OPEN, flat(50, 60))
    app = create_app(s, now=clock)
    svc = app.extensions["service"]
    with serve(app) as url:
        a = bot(url, "cash-bot")
        buy(a, 4)
        buy(a, 6, "MSFT")
        clock.advance(2)
        svc.process_until()
        closed = a.close_position("AAPL")
        assert closed.side == OrderSide.SELL and closed.qty == "4"
        results = {r.symbol: r.status for r in a.close_all_positions()}
        # AAPL's close is already working and holds the shares, as at Alpaca
        assert results == {"AAPL": 403, "MSFT": 200}, results
        clock.advance(2)
        svc.process_until()
        assert a.get_all_positions() == []
        assert D(a.get_account().cash) == D(100000)


def test_nested_false_lists_working_legs_and_open_skips_the_filled_parent(
        live_url, market, svc, clock) -> None:  # noqa: ANN001
    a = bot(live_url, "bot-a")
    parent = a.submit_order(MarketOrderRequest(
        symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.DAY,
        order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=120),
        stop_loss=StopLossRequest(stop_price=90)))
    fill(svc, clock)
    flat_open = a.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=False))
    assert parent.id not in [str(o.id) for o in flat_open]
    assert sorted(str(o.order_type.value) for o in flat_open) == ["limit", "stop"]
    every = a.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, nested=False))
    assert len(every) == 3
    nested = a.get_orders(GetOrdersRequest(status=QueryOrderStatus.OPEN, nested=True))
    assert [str(o.id) for o in nested] == [str(parent.id)] and len(nested[0].legs) == 2
    assert a.get_open_position("AAPL").qty_available == "0"


def test_an_oco_in_the_sdks_shape_is_accepted(live_url, market, svc, clock) -> None:  # noqa: ANN001
    a = bot(live_url, "bot-a")
    buy(a, 5)
    fill(svc, clock)
    oco = a.submit_order(LimitOrderRequest(
        symbol="AAPL", qty=5, side=OrderSide.SELL, time_in_force=TimeInForce.GTC,
        order_class=OrderClass.OCO, take_profit=TakeProfitRequest(limit_price=110),
        stop_loss=StopLossRequest(stop_price=95)))
    assert oco.order_class == OrderClass.OCO and D(oco.limit_price) == 110
    assert a.get_open_position("AAPL").qty_available == "0"  # both exits hold the 5 once


@pytest.mark.parametrize(("order", "field"), [
    (dict(qty=1, order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=90),
          stop_loss=StopLossRequest(stop_price=95)), "take_profit.limit_price"),
    (dict(qty=1, order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=99),
          stop_loss=StopLossRequest(stop_price=90)), "take_profit.limit_price"),
    (dict(qty=1, order_class=OrderClass.BRACKET, take_profit=TakeProfitRequest(limit_price=120),
          stop_loss=StopLossRequest(stop_price=100.5)), "stop_loss.stop_price"),
    (dict(qty=1.5, time_in_force=TimeInForce.GTC), "fractional orders must be DAY"),
    (dict(notional=500, time_in_force=TimeInForce.GTC), "fractional orders must be DAY"),
    (dict(qty=1, time_in_force=TimeInForce.OPG), "opg orders"),
    (dict(qty=1, limit_price=100.123), "sub-penny"),
    (dict(qty=1.1234567), "decimal places"),
])
def test_invalid_orders_alpaca_refuses_are_422(live_url, market, order, field) -> None:  # noqa: ANN001
    a = bot(live_url, "bot-a")
    kw = {"symbol": "AAPL", "side": OrderSide.BUY, "time_in_force": TimeInForce.DAY, **order}
    limit = kw.get("limit_price") is not None or kw.get("order_class") == OrderClass.BRACKET
    req = (LimitOrderRequest(**{"limit_price": 100, **kw}) if limit
           else MarketOrderRequest(**kw))
    with pytest.raises(APIError) as e:
        a.submit_order(req)
    assert code(e) == 422 and field in str(e.value), str(e.value)
    assert a.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL)) == []


@pytest.mark.parametrize("qty", ["0", "-3"])
def test_a_quantity_of_zero_or_less_is_422(client, market, qty) -> None:  # noqa: ANN001
    r = client.post("/v2/orders", json={"symbol": "AAPL", "side": "buy", "qty": qty,
                                        "type": "market", "time_in_force": "day"})
    assert r.status_code == 422 and r.json["code"] == 42210000 and "qty" in r.json["message"]


def test_v2_without_a_key_id_is_401(app, market) -> None:  # noqa: ANN001
    r = app.test_client().get("/v2/account")
    assert r.status_code == 401 and r.json["code"] == 40110000
