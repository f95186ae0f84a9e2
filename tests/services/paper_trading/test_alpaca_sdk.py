"""The unmodified alpaca-py SDK against the service in a real server thread."""
from __future__ import annotations

import warnings
from datetime import timedelta
from decimal import Decimal as D

import pytest

# alpaca-py imports websockets.legacy, which warns on import; the suite runs warnings as errors.
with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.data.historical import StockHistoricalDataClient
    from alpaca.data.historical.news import NewsClient
    from alpaca.data.requests import (
        NewsRequest,
        StockBarsRequest,
        StockLatestQuoteRequest,
        StockLatestTradeRequest,
    )
    from alpaca.data.timeframe import TimeFrame
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import (
        OrderClass,
        OrderSide,
        OrderStatus,
        QueryOrderStatus,
        TimeInForce,
    )
    from alpaca.trading.requests import (
        ClosePositionRequest,
        GetCalendarRequest,
        GetOrdersRequest,
        LimitOrderRequest,
        MarketOrderRequest,
        ReplaceOrderRequest,
        StopLossRequest,
        StopOrderRequest,
        TakeProfitRequest,
        TrailingStopOrderRequest,
    )

from tests.services.paper_trading.helpers import OPEN, seed_bars

BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103), (103, 103, 95, 96),
        (96, 97, 94, 95), (95, 98, 95, 97)]


@pytest.fixture
def tc(live_url: str, db, clock) -> TradingClient:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    return TradingClient("k", "s", url_override=live_url)


def test_orders_positions_account_through_the_sdk(tc: TradingClient, clock) -> None:  # noqa: ANN001
    acct = tc.get_account()
    assert acct.cash == "100000" and acct.status.value == "ACTIVE"
    mkt = tc.submit_order(MarketOrderRequest(symbol="AAPL", qty=10, side=OrderSide.BUY,
                                             time_in_force=TimeInForce.DAY))
    lim = tc.submit_order(LimitOrderRequest(symbol="AAPL", qty=5, side=OrderSide.BUY,
                                            time_in_force=TimeInForce.GTC, limit_price=100.5))
    stop = tc.submit_order(StopOrderRequest(symbol="AAPL", qty=2, side=OrderSide.BUY,
                                            time_in_force=TimeInForce.GTC, stop_price=103.5))
    bracket = tc.submit_order(LimitOrderRequest(
        symbol="AAPL", qty=3, side=OrderSide.BUY, time_in_force=TimeInForce.GTC,
        limit_price=101, order_class=OrderClass.BRACKET,
        take_profit=TakeProfitRequest(limit_price=103.5), stop_loss=StopLossRequest(stop_price=99)))
    assert [leg.status for leg in bracket.legs] == [OrderStatus.HELD, OrderStatus.HELD]
    trail = tc.submit_order(TrailingStopOrderRequest(symbol="AAPL", qty=1, side=OrderSide.SELL,
                                                     time_in_force=TimeInForce.GTC,
                                                     trail_percent=2))
    assert tc.get_order_by_client_id(mkt.client_order_id).id == mkt.id
    clock.t = OPEN + timedelta(minutes=6)
    got = tc.get_order_by_id(mkt.id)
    assert got.status == OrderStatus.FILLED and D(got.filled_avg_price) == D(101)
    assert D(tc.get_order_by_id(lim.id).filled_avg_price) == D("100.5")
    assert D(tc.get_order_by_id(stop.id).filled_avg_price) == D("103.5")  # 14:32 high 104
    b = tc.get_order_by_id(bracket.id)
    assert b.status == OrderStatus.FILLED
    assert {leg.status for leg in b.legs} == {OrderStatus.FILLED, OrderStatus.CANCELED}
    # trailing 2%: open 101 -> stop 98.98, hwm 102 -> 99.96, 104 -> 101.92; 14:33 low 95 fills
    # at min(open 103, 101.92)
    assert D(tc.get_order_by_id(trail.id).filled_avg_price) == D("101.92")
    pos = tc.get_open_position("AAPL")
    assert pos.qty == "16" and pos.side.value == "long"  # 10 + 5 + 2 + 3 - 3 - 1
    assert len(tc.get_all_positions()) == 1
    listed = tc.get_orders(GetOrdersRequest(status=QueryOrderStatus.ALL, nested=True))
    assert len(listed) == 5
    close = tc.close_position("AAPL", ClosePositionRequest(qty="6"))
    assert close.side == OrderSide.SELL and close.qty == "6"
    acct = tc.get_account()
    assert D(acct.equity) == D(acct.cash) + D(acct.long_market_value)


def test_cancel_replace_and_errors(tc: TradingClient) -> None:
    o = tc.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                          time_in_force=TimeInForce.DAY, limit_price=50))
    new = tc.replace_order_by_id(o.id, ReplaceOrderRequest(limit_price=51))
    assert new.replaces == o.id and D(new.limit_price) == 51
    tc.cancel_order_by_id(new.id)
    assert tc.get_order_by_id(new.id).status == OrderStatus.CANCELED
    tc.submit_order(LimitOrderRequest(symbol="AAPL", qty=1, side=OrderSide.BUY,
                                      time_in_force=TimeInForce.DAY, limit_price=50))
    assert [r.status for r in tc.cancel_orders()] == [200]
    with pytest.raises(APIError) as info:
        tc.get_open_position("MSFT")
    assert info.value.status_code == 404 and info.value.code == 40410000
    with pytest.raises(APIError) as info:
        tc.submit_order(MarketOrderRequest(symbol="AAPL", qty=100000, side=OrderSide.BUY,
                                           time_in_force=TimeInForce.DAY))
    assert info.value.status_code == 403 and info.value.code == 40310000
    assert "buying power" in info.value.message
    assert tc.close_all_positions(cancel_orders=True) == []


def test_clock_calendar_assets_and_data(tc: TradingClient, live_url: str) -> None:
    c = tc.get_clock()
    assert c.is_open and c.next_close.hour == 16
    cal = tc.get_calendar(GetCalendarRequest(start="2024-01-02", end="2024-01-05"))
    assert [d.date.isoformat() for d in cal] == ["2024-01-02", "2024-01-03", "2024-01-04",
                                                 "2024-01-05"]
    assert tc.get_asset("AAPL").symbol == "AAPL"
    dc = StockHistoricalDataClient("k", "s", url_override=live_url)
    bars = dc.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL",
                                              timeframe=TimeFrame.Minute, start=OPEN))
    assert [b.open for b in bars.data["AAPL"]] == [100.0]  # only the bar closed at 14:31
    assert dc.get_stock_latest_trade(StockLatestTradeRequest(symbol_or_symbols="AAPL"))[
        "AAPL"].price == 100.5
    q = dc.get_stock_latest_quote(StockLatestQuoteRequest(symbol_or_symbols="AAPL"))["AAPL"]
    assert q.bid_price < 100.5 < q.ask_price
    news = NewsClient("k", "s", url_override=live_url).get_news(NewsRequest(symbols="AAPL"))
    assert news.data["news"] == []  # no article stored (see test_news_route for content)


def test_bar_pagination_follows_tokens(tc: TradingClient, live_url: str, clock) -> None:  # noqa: ANN001
    clock.t = OPEN + timedelta(minutes=6)
    dc = StockHistoricalDataClient("k", "s", url_override=live_url)
    dc._retry = 0
    bars = dc.get_stock_bars(StockBarsRequest(symbol_or_symbols="AAPL",
                                              timeframe=TimeFrame.Minute, start=OPEN, limit=4))
    assert [b.open for b in bars.data["AAPL"]] == [100.0, 101.0, 102.0, 103.0]
