"""Account configurations through the unmodified alpaca-py SDK: round trip, isolation between
key ids, and the settings that change what an order may do."""
from __future__ import annotations

import warnings
from datetime import timedelta
from decimal import Decimal as D

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, PDTCheck, TimeInForce
    from alpaca.trading.models import AccountConfiguration
    from alpaca.trading.requests import MarketOrderRequest

from services.paper_trading.service_layer.account_config import (
    ConfigPatch,
    config_of,
    default_config,
)
from tests.services.paper_trading.alpaca_account_helpers import BARS, trading_client
from tests.services.paper_trading.helpers import OPEN, seed_bars


@pytest.fixture
def tc(live_url: str, db, clock) -> TradingClient:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    return trading_client(live_url)


def _order(side: OrderSide, qty: float = 1, **kw: object) -> MarketOrderRequest:
    return MarketOrderRequest(symbol="AAPL", qty=qty, side=side, time_in_force=TimeInForce.DAY,
                              **kw)


def _set(tc: TradingClient, **changes: object) -> AccountConfiguration:
    conf = tc.get_account_configurations()
    for k, v in changes.items():
        setattr(conf, k, v)
    return tc.set_account_configurations(conf)


def test_configurations_round_trip_per_key_id(tc: TradingClient, live_url: str) -> None:
    conf = tc.get_account_configurations()
    assert (conf.no_shorting, conf.suspend_trade, conf.fractional_trading) == (False, False, True)
    assert conf.max_margin_multiplier == "4" and conf.trade_confirm_email.value == "all"
    new = _set(tc, no_shorting=True, max_margin_multiplier="2", pdt_check=PDTCheck.BOTH,
               trade_confirm_email="none")
    assert new.no_shorting and new.max_margin_multiplier == "2"
    again = tc.get_account_configurations()
    assert again == new and again.pdt_check == PDTCheck.BOTH
    other = trading_client(live_url, "other")
    assert other.get_account_configurations().no_shorting is False


def test_no_shorting_refuses_a_short_sale(tc: TradingClient, live_url: str) -> None:
    _set(tc, no_shorting=True)
    with pytest.raises(APIError) as e:
        tc.submit_order(_order(OrderSide.SELL))
    assert e.value.status_code == 403 and e.value.code == 40310000
    assert "insufficient qty" in e.value.message
    assert tc.get_account().shorting_enabled is False
    # another key id may still sell short (a margin account by default)
    other = trading_client(live_url, "other")
    assert other.submit_order(_order(OrderSide.SELL)).side == OrderSide.SELL
    # a long position may still be sold
    tc.submit_order(_order(OrderSide.BUY, 2))
    _set(tc, no_shorting=False)
    assert tc.get_account().shorting_enabled is True


def test_suspend_trade_refuses_new_orders(tc: TradingClient) -> None:
    _set(tc, suspend_trade=True)
    with pytest.raises(APIError) as e:
        tc.submit_order(_order(OrderSide.BUY))
    assert e.value.status_code == 403
    assert tc.get_account().trade_suspended_by_user is True
    _set(tc, suspend_trade=False)
    assert tc.submit_order(_order(OrderSide.BUY)).symbol == "AAPL"


def test_fractional_trading_off_refuses_fractions_and_notional(tc: TradingClient) -> None:
    _set(tc, fractional_trading=False)
    with pytest.raises(APIError) as e:
        tc.submit_order(_order(OrderSide.BUY, 1.5))
    assert e.value.status_code == 422 and e.value.code == 42210000
    with pytest.raises(APIError) as e:
        tc.submit_order(MarketOrderRequest(symbol="AAPL", notional=500, side=OrderSide.BUY,
                                           time_in_force=TimeInForce.DAY))
    assert e.value.status_code == 422
    assert D(tc.submit_order(_order(OrderSide.BUY, 2)).qty) == 2


def test_max_margin_multiplier_sets_buying_power(tc: TradingClient) -> None:
    acct = tc.get_account()
    assert D(acct.buying_power) == D(400000)  # in session, equity over the PDT threshold: 4x
    _set(tc, max_margin_multiplier="2")
    assert D(tc.get_account().buying_power) == D(200000)
    _set(tc, max_margin_multiplier="1")
    acct = tc.get_account()
    assert D(acct.buying_power) == D(acct.cash) == D(100000) and acct.shorting_enabled is False
    with pytest.raises(APIError) as e:  # no margin: no short sale, no buying past the cash
        tc.submit_order(_order(OrderSide.SELL))
    assert e.value.status_code == 403
    with pytest.raises(APIError) as e:
        tc.submit_order(_order(OrderSide.BUY, 1500))  # ~151,500 > 100,000 cash
    assert e.value.status_code == 403


def test_bad_configuration_is_a_400(tc: TradingClient) -> None:
    conf = tc.get_account_configurations()
    conf.max_margin_multiplier = "7"
    with pytest.raises(APIError) as e:
        tc.set_account_configurations(conf)
    assert e.value.status_code == 400
    with pytest.raises(APIError) as e:
        tc.patch("/account/configurations", {"pdt_check": "sometimes"})
    assert e.value.status_code == 400
    assert tc.get_account_configurations().max_margin_multiplier == "4"


def test_config_parsing_is_memoized_and_tolerant(settings) -> None:  # noqa: ANN001
    cfg = settings.paper_trading
    assert config_of("{}", cfg) is config_of("{}", cfg)
    assert config_of("not json", cfg) == default_config(cfg)
    assert config_of('{"no_shorting": true, "unknown": 1}', cfg).no_shorting is True
    assert ConfigPatch(max_margin_multiplier=2).max_margin_multiplier == "2"
