"""Positions from fills (adds, partial closes, flips), account figures, risk rules, PDT."""
from __future__ import annotations

from decimal import Decimal as D

import pytest

from shared.trading import (
    OrderIntent,
    PatternDayTraderRejection,
    Position,
    RiskContext,
    RiskLimits,
    RiskRejection,
    Side,
    account_figures,
    apply_fill,
    check_order,
    check_pdt,
    daily_loss_breached,
    would_day_trade,
)


def test_adds_average_in_and_partial_close_realizes() -> None:
    e = apply_fill(Position("X"), Side.BUY, D(10), D(100))
    e = apply_fill(e.position, Side.BUY, D(10), D(110))
    assert e.position.qty == D(20) and e.position.avg_entry == D(105)
    e = apply_fill(e.position, Side.SELL, D(5), D(120))
    assert e.realized == D("75.00") and e.position.qty == D(15) and e.position.avg_entry == D(105)
    assert e.closed == D(5) and e.opened == 0 and e.cash == D("600.00")


def test_flip_through_zero_reopens_at_fill_price() -> None:
    e = apply_fill(Position("X", D(10), D(100)), Side.SELL, D(15), D(90))
    assert e.realized == D("-100.00")
    assert e.position.qty == D(-5) and e.position.avg_entry == D(90)
    assert (e.closed, e.opened) == (D(10), D(5))
    e2 = apply_fill(e.position, Side.BUY, D(5), D(80))  # cover the short at a profit
    assert e2.realized == D("50.00") and e2.position.qty == 0


def test_account_figures_margin_and_cash() -> None:
    long_ = Position("A", D(100), D(50))
    short = Position("B", D(-10), D(20))
    f = account_figures(D(10000), [(long_, D(60)), (short, D(25))], margin=True,
                        overnight=D(2), intraday=D(4), pdt_threshold=D(25000), in_session=True)
    assert f.long_market_value == D(6000) and f.short_market_value == D(-250)
    assert f.equity == D("15750.00")
    assert f.regt_buying_power == D("25250.00")  # 2*15750 - (6000 + 250)
    assert f.buying_power == f.regt_buying_power  # under 25k: no intraday 4x
    c = account_figures(D(500), [(long_, D(60))], margin=False, overnight=D(2), intraday=D(4),
                        pdt_threshold=D(25000), in_session=True)
    assert c.buying_power == D(500) and c.equity == D("6500.00")
    big = account_figures(D(30000), [], margin=True, overnight=D(2), intraday=D(4),
                          pdt_threshold=D(25000), in_session=True)
    assert big.buying_power == D("120000.00") and big.regt_buying_power == D("60000.00")


CTX = RiskContext(equity=D(10000), buying_power=D(20000), position_qty=D(0), open_positions=0)


@pytest.mark.parametrize("limits,ctx,intent,rule", [
    (RiskLimits(), CTX, OrderIntent("X", D(300), D(100)), "buying_power"),
    (RiskLimits(max_order_notional=D(1000)), CTX, OrderIntent("X", D(11), D(100)),
     "max_order_notional"),
    (RiskLimits(max_position_pct=D(10)), CTX, OrderIntent("X", D(11), D(100)), "max_position_pct"),
    (RiskLimits(max_open_positions=2), RiskContext(**{**CTX.__dict__, "open_positions": 2}),
     OrderIntent("X", D(1), D(100)), "max_open_positions"),
    (RiskLimits(), RiskContext(**{**CTX.__dict__, "tradable": False}),
     OrderIntent("X", D(1), D(100)), "not_tradable"),
    (RiskLimits(), RiskContext(**{**CTX.__dict__, "shortable": False}),
     OrderIntent("X", D(-1), D(100)), "not_shortable"),
    (RiskLimits(), RiskContext(**{**CTX.__dict__, "margin": False}),
     OrderIntent("X", D(-1), D(100)), "not_shortable"),
    (RiskLimits(), RiskContext(**{**CTX.__dict__, "halted": True}),
     OrderIntent("X", D(1), D(100)), "halted"),
    (RiskLimits(max_trades_per_day=3), RiskContext(**{**CTX.__dict__, "trades_today": 3}),
     OrderIntent("X", D(1), D(100)), "max_trades_per_day"),
    (RiskLimits(no_entry_minutes_before_close=15),
     RiskContext(**{**CTX.__dict__, "minutes_to_close": 10}), OrderIntent("X", D(1), D(100)),
     "entry_window_closed"),
])
def test_each_rule_rejects_with_its_code(limits, ctx, intent, rule) -> None:  # noqa: ANN001
    with pytest.raises(RiskRejection) as info:
        check_order(intent, ctx, limits)
    assert info.value.code == f"risk_{rule}" and info.value.http_status == 403
    assert info.value.message


def test_reducing_orders_pass_even_when_halted() -> None:
    ctx = RiskContext(**{**CTX.__dict__, "halted": True, "position_qty": D(10),
                         "buying_power": D(0)})
    check_order(OrderIntent("X", D(-10), D(100)), ctx, RiskLimits(max_order_notional=D(1)))
    check_order(OrderIntent("X", D(2), D(100)), CTX, RiskLimits(max_order_notional=D(1000)))


def test_daily_loss_limit_in_dollars_and_percent() -> None:
    assert daily_loss_breached(D(10000), D(9600), RiskLimits(daily_loss_limit_usd=D(500))) is None
    assert daily_loss_breached(D(10000), D(9500), RiskLimits(daily_loss_limit_usd=D(500)))
    assert daily_loss_breached(D(10000), D(9700), RiskLimits(daily_loss_limit_pct=D(3)))
    assert daily_loss_breached(D(10000), D(10700), RiskLimits(daily_loss_limit_pct=D(3))) is None


def test_pattern_day_trader_rule() -> None:
    assert would_day_trade(D(10), D(-5), opened_today=D(10))
    assert not would_day_trade(D(10), D(-5), opened_today=D(0))
    assert not would_day_trade(D(10), D(5), opened_today=D(10))
    kw = dict(threshold=D(25000), max_day_trades=3, would_be_day_trade=True)
    check_pdt(equity=D(20000), day_trades_last5=2, **kw)
    check_pdt(equity=D(30000), day_trades_last5=3, **kw)
    with pytest.raises(PatternDayTraderRejection) as info:
        check_pdt(equity=D(20000), day_trades_last5=3, **kw)
    assert info.value.http_status == 403 and info.value.code == "risk_pattern_day_trader"
