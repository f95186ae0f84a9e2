"""Portfolio history and account activities through the unmodified alpaca-py SDK: equity to
the cent against the account's cash and positions at the last visible close, no look-ahead,
activities per key id with paging, and 4xx for bad input."""
from __future__ import annotations

import warnings
from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pytest

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.common.exceptions import APIError
    from alpaca.trading.client import TradingClient
    from alpaca.trading.enums import OrderSide, OrderStatus, TimeInForce
    from alpaca.trading.models import NonTradeActivity, TradeActivity
    from alpaca.trading.requests import GetPortfolioHistoryRequest, MarketOrderRequest

from services.paper_trading.service_layer.portfolio_history import HistoryQuery, windows
from tests.services.paper_trading.alpaca_account_helpers import BARS, trading_client
from tests.services.paper_trading.helpers import OPEN, seed_bars


@pytest.fixture
def tc(live_url: str, db, clock) -> TradingClient:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    return trading_client(live_url)


def _buy(tc: TradingClient, qty: float, side: OrderSide = OrderSide.BUY) -> str:
    return str(tc.submit_order(MarketOrderRequest(symbol="AAPL", qty=qty, side=side,
                                                  time_in_force=TimeInForce.DAY)).id)


def _activities(tc: TradingClient, path: str = "/account/activities",
                **params: object) -> list[TradeActivity | NonTradeActivity]:
    return [TradeActivity(**a) if a["activity_type"] == "FILL" else NonTradeActivity(**a)
            for a in tc.get(path, params)]


def _equity_now(tc: TradingClient) -> D:
    acct = tc.get_account()
    value = (D(acct.cash) + sum((D(p.qty) * D(p.current_price) for p in tc.get_all_positions()),
                                D(0))).quantize(D("0.01"))
    assert value == D(acct.equity)
    return value


def test_history_equity_is_cash_plus_positions_at_last_close(tc: TradingClient, clock) -> None:  # noqa: ANN001
    _buy(tc, 10)  # fills at the 14:31 bar's open, 101
    clock.t = OPEN + timedelta(minutes=4, seconds=30)
    _buy(tc, 7.5)  # fills at the 14:35 bar's open, 95
    clock.t = OPEN + timedelta(minutes=9, seconds=10)
    h = tc.get_portfolio_history(GetPortfolioHistoryRequest(period="1D", timeframe="1Min"))
    assert h.timeframe == "1Min" and len(h.timestamp) == 10  # 14:30 .. 14:39, none after now
    assert h.timestamp[0] == int(OPEN.timestamp()) and h.timestamp[1] - h.timestamp[0] == 60
    assert D(str(h.equity[-1])) == _equity_now(tc)
    # each window is valued at its end: 14:30 -> 100000 (nothing filled yet)
    assert h.equity[0] == 100000.0 and h.base_value == 100000.0
    # 14:32 window ends 14:33, at the 14:32 bar's close 103: 100000 - 1010 + 10 * 103
    assert D(str(h.equity[2])) == D(100000) - 1010 + 1030
    # 14:36 window: 10 @ 101 and 7.5 @ 95; the 14:36 bar closes at 97.25
    assert D(str(h.equity[6])) == (D(100000) - 1010 - D("712.5") + D("17.5") * D("97.25")).quantize(D("0.01"))
    assert h.profit_loss[6] == pytest.approx(h.equity[6] - 100000, abs=1e-9)
    assert h.profit_loss_pct[6] == pytest.approx(h.profit_loss[6] / 100000, abs=1e-9)
    daily = tc.get_portfolio_history(GetPortfolioHistoryRequest(period="1W", timeframe="1D"))
    assert daily.timeframe == "1D"
    assert datetime.fromtimestamp(daily.timestamp[-1], UTC) == datetime(2024, 1, 2, 5, tzinfo=UTC)
    assert D(str(daily.equity[-1])) == _equity_now(tc)
    default = tc.get_portfolio_history()
    assert default.timeframe == "1D" and default.equity[-1] == daily.equity[-1]


def test_history_never_reads_past_the_clock(tc: TradingClient, clock) -> None:  # noqa: ANN001
    _buy(tc, 10)
    clock.t = OPEN + timedelta(minutes=3)
    early = tc.get_portfolio_history(GetPortfolioHistoryRequest(period="1D", timeframe="1Min"))
    # asking for later than now is cut at now; bars after 14:33 exist but are not visible
    later = tc.get_portfolio_history(GetPortfolioHistoryRequest(
        timeframe="1Min", start=OPEN, end=OPEN + timedelta(hours=2)))
    assert later.timestamp == early.timestamp and later.equity == early.equity
    assert D(str(early.equity[-1])) == _equity_now(tc)


def test_history_bad_input_is_a_4xx(tc: TradingClient) -> None:
    bad = [GetPortfolioHistoryRequest(period="xx"), GetPortfolioHistoryRequest(timeframe="2Min"),
           GetPortfolioHistoryRequest(period="3M", timeframe="1Min"),
           GetPortfolioHistoryRequest(start=OPEN + timedelta(days=3), end=OPEN)]
    for req in bad:
        with pytest.raises(APIError) as e:
            tc.get_portfolio_history(req)
        assert 400 <= e.value.status_code < 500 and e.value.code in (40010001, 42210000)


def test_history_windows_are_pure_calendar_facts(svc) -> None:  # noqa: ANN001
    now = OPEN + timedelta(hours=2)
    tf, wins = windows(svc.cal, HistoryQuery(period="1D", timeframe="15Min"), now)
    assert tf == "15Min" and len(wins) == 8 and wins[-1].value_at == now
    tf, wins = windows(svc.cal, HistoryQuery(period="1D", timeframe="1H",
                                             extended_hours=True), now)
    assert wins[0].label == datetime(2024, 1, 2, 9, tzinfo=UTC)  # 04:00 New York


def test_activities_fills_resets_and_isolation(tc: TradingClient, clock, svc, live_url) -> None:  # noqa: ANN001
    oid = _buy(tc, 10)
    clock.t = OPEN + timedelta(minutes=3)
    sell = _buy(tc, 4, OrderSide.SELL)
    clock.t = OPEN + timedelta(minutes=6)
    acts = _activities(tc)
    fills = [a for a in acts if isinstance(a, TradeActivity)]
    assert [(str(f.order_id), f.side, f.qty, f.cum_qty, f.leaves_qty, f.type.value)
            for f in fills] == [(sell, OrderSide.SELL, 4, 4, 0, "fill"),
                                (oid, OrderSide.BUY, 10, 10, 0, "fill")]
    assert fills[1].price == 101 and fills[1].order_status == OrderStatus.FILLED
    assert fills[1].transaction_time == OPEN + timedelta(minutes=2)
    opening = acts[-1]
    assert isinstance(opening, NonTradeActivity) and opening.activity_type.value == "CSD"
    assert opening.net_amount == 100000
    assert [a.id for a in _activities(tc, direction="asc")] == [a.id for a in reversed(acts)]
    # paging: page_size and the last id as page_token
    page1 = _activities(tc, page_size=2)
    page2 = _activities(tc, page_size=2, page_token=page1[-1].id)
    assert [a.id for a in page1 + page2] == [a.id for a in acts]
    only = _activities(tc, "/account/activities/FILL")
    assert [a.id for a in only] == [f.id for f in fills]
    assert _activities(tc, activity_types="CSD,JNLC")[0].activity_type.value == "CSD"
    assert len(_activities(tc, category="trade_activity")) == 2
    assert len(_activities(tc, after=(OPEN + timedelta(minutes=3)).isoformat())) == 1
    assert len(_activities(tc, date="2024-01-02")) == 2 + (opening.date.isoformat() == "2024-01-02")
    # another key id sees none of it
    other = trading_client(live_url, "other")
    assert [a.activity_type.value for a in _activities(other)] == ["CSD"]
    # a reset is a cash journal of what brought the cash back to the start
    cash = D(tc.get_account().cash)
    svc.reset(account=svc.accounts.resolve("k", "s"))
    jnlc = _activities(tc, "/account/activities/JNLC")
    assert len(jnlc) == 1 and D(str(jnlc[0].net_amount)) == D(100000) - cash
    h = tc.get_portfolio_history(GetPortfolioHistoryRequest(period="1D", timeframe="1Min"))
    assert h.equity[-1] == 100000.0


def test_activities_bad_input_is_a_4xx(tc: TradingClient) -> None:
    for params in ({"direction": "sideways"}, {"activity_types": "BOGUS"}, {"page_size": 0},
                   {"date": "2024-01-02", "after": "2024-01-01T00:00:00+00:00"},
                   {"until": "yesterday"}):
        with pytest.raises(APIError) as e:
            tc.get("/account/activities", params)
        assert e.value.status_code == 400, params
    with pytest.raises(APIError) as e:
        tc.get("/account/activities/NOPE")
    assert e.value.status_code == 400
