"""Every fill rule on hand-built bars with hand-computed prices."""
from __future__ import annotations

from datetime import UTC, datetime
from decimal import Decimal as D

import numpy as np
import pytest

from shared.trading import (
    Bar,
    Costs,
    OrderState,
    OrderType,
    Side,
    TimeInForce,
    candidate_mask,
    commission,
    evaluate,
)

T0 = datetime(2024, 1, 2, 14, 31, tzinfo=UTC)
NO_COST = Costs()


def bar(o, h, lo, c, v=1_000_000, ts=T0) -> Bar:  # noqa: ANN001
    return Bar(ts, D(str(o)), D(str(h)), D(str(lo)), D(str(c)), v)


def order(side="buy", type_="market", **kw) -> OrderState:  # noqa: ANN001
    kw.setdefault("remaining", D(10))
    return OrderState(side=Side(side), type=OrderType(type_), **kw)


def test_market_buy_fills_at_open_plus_bps_slippage() -> None:
    costs = Costs(slippage_bps=D(10))  # 0.10% of 100 = 0.10
    d = evaluate(order(), bar(100, 101, 99, 100.5), costs)
    assert (d.qty, d.price) == (D(10), D("100.10"))


def test_market_sell_slippage_is_against_the_seller() -> None:
    d = evaluate(order("sell"), bar(100, 101, 99, 100.5), Costs(slippage_bps=D(10)))
    assert d.price == D("99.90")


def test_range_fraction_slippage_and_clamp_to_bar() -> None:
    costs = Costs(slippage_model="range_fraction", slippage_range_fraction=D("0.25"))
    assert evaluate(order(), bar(100, 102, 98, 101), costs).price == D(101)  # 100 + 0.25*4
    # open at the high: slippage would go above it, so the fill is clamped to the high
    assert evaluate(order(), bar(102, 102, 98, 101), costs).price == D(102)


def test_limit_buy_fills_at_limit_when_traded_through() -> None:
    d = evaluate(order(type_="limit", limit=D("99.50")), bar(100, 101, 99, 100.5), NO_COST)
    assert d.price == D("99.50")


def test_limit_buy_gap_down_fills_at_better_open() -> None:
    d = evaluate(order(type_="limit", limit=D("99.50")), bar(98, 99, 97, 98.5), NO_COST)
    assert d.price == D(98)


def test_limit_buy_not_reached_does_not_fill() -> None:
    d = evaluate(order(type_="limit", limit=D("98.99")), bar(100, 101, 99, 100.5), NO_COST)
    assert not d.filled and d.cancel_reason is None


def test_limit_sell_gap_up_fills_at_open() -> None:
    d = evaluate(order("sell", "limit", limit=D(101)), bar(103, 104, 102, 103), NO_COST)
    assert d.price == D(103)
    d = evaluate(order("sell", "limit", limit=D(101)), bar(100, 101.2, 99, 101), NO_COST)
    assert d.price == D(101)


def test_stop_buy_triggers_and_fills_at_stop_plus_slippage() -> None:
    d = evaluate(order(type_="stop", stop=D(101)), bar(100, 102, 99, 101.5), Costs(slippage_bps=D(100)))
    assert d.triggered and d.price == D("102.00")  # 101 * 1.01 = 102.01, clamped to the high 102
    d = evaluate(order(type_="stop", stop=D(101)), bar(100, 102, 99, 101.5), NO_COST)
    assert d.price == D(101)


def test_stop_sell_gap_down_fills_at_worse_open() -> None:
    d = evaluate(order("sell", "stop", stop=D(95)), bar(90, 91, 89, 90), NO_COST)
    assert d.price == D(90)


def test_stop_not_reached() -> None:
    d = evaluate(order("sell", "stop", stop=D(95)), bar(100, 101, 96, 97), NO_COST)
    assert not d.filled and not d.triggered


def test_stop_limit_fills_at_trigger_when_within_limit() -> None:
    d = evaluate(order(type_="stop_limit", stop=D(101), limit=D("101.50")),
                 bar(100, 102, 99, 101.5), NO_COST)
    assert d.triggered and d.price == D(101)


def test_stop_limit_gap_past_limit_rests_as_limit() -> None:
    o = order(type_="stop_limit", stop=D(101), limit=D("101.50"))
    d = evaluate(o, bar(103, 104, 102, 103), NO_COST)
    assert d.triggered and not d.filled
    # next bar: behaves as a triggered limit at 101.50
    d2 = evaluate(OrderState(**{**o.__dict__, "triggered": True, "first_bar": False}),
                  bar(102, 102, 101, 101.2), NO_COST)
    assert d2.price == D("101.50")


def test_trailing_stop_sell_by_price_tracks_high_water_mark() -> None:
    o = order("sell", "trailing_stop", trail_price=D(2))
    d = evaluate(o, bar(100, 103, 99, 102), NO_COST)  # stop 98 from open; low 99: no trigger
    assert not d.filled and d.hwm == D(103) and d.stop == D(101)
    o2 = OrderState(**{**o.__dict__, "hwm": d.hwm, "first_bar": False})
    d2 = evaluate(o2, bar(102, 102.5, 100, 100.5), NO_COST)
    assert d2.filled and d2.price == D(101)


def test_trailing_stop_percent_and_gap() -> None:
    o = order("sell", "trailing_stop", trail_percent=D(5), hwm=D(200), first_bar=False)
    d = evaluate(o, bar(180, 181, 179, 180), NO_COST)  # stop 190; gap open 180 fills at 180
    assert d.price == D(180)


def test_trailing_stop_buy_tracks_low_water_mark() -> None:
    o = order("buy", "trailing_stop", trail_price=D(1), hwm=D(50), first_bar=False)
    d = evaluate(o, bar(50, 50.5, 48, 48.5), NO_COST)  # stop 51, high 50.5: no; lwm -> 48
    assert not d.filled and d.hwm == D(48) and d.stop == D(49)


def test_participation_cap_partial_fill() -> None:
    costs = Costs(volume_participation=D("0.1"))
    d = evaluate(order(remaining=D(500)), bar(10, 10, 10, 10, v=1234), costs)
    assert d.qty == D("123.4") and d.price == D(10)  # 10% of 1234, fractional shares
    d = evaluate(order(remaining=D(500), fractionable=False), bar(10, 10, 10, 10, v=1234), costs)
    assert d.qty == D(123)
    d = evaluate(order(remaining=D(500)), bar(10, 10, 10, 10, v=1237), costs)
    assert d.qty == D("123.7")


def test_ioc_cancels_remainder_and_fok_all_or_nothing() -> None:
    costs = Costs(volume_participation=D("0.1"))
    ioc = evaluate(order(tif=TimeInForce.IOC, remaining=D(500)), bar(10, 10, 10, 10, v=1000), costs)
    assert ioc.qty == D(100) and ioc.cancel_reason == "ioc_remainder"
    fok = evaluate(order(tif=TimeInForce.FOK, remaining=D(500)), bar(10, 10, 10, 10, v=1000), costs)
    assert not fok.filled and fok.cancel_reason == "fok_not_fillable_in_full"
    miss = evaluate(order(type_="limit", tif=TimeInForce.IOC, limit=D(9)), bar(10, 11, 9.5, 10), NO_COST)
    assert not miss.filled and miss.cancel_reason == "ioc_not_marketable"


def test_opg_fills_on_the_opening_bar_only_and_cls_at_the_close() -> None:
    target = T0
    o = order(tif=TimeInForce.OPG, target_bar=target)
    assert evaluate(o, bar(100, 101, 99, 100.5), Costs(slippage_bps=D(50))).price == D(100)
    late = bar(100, 101, 99, 100.5, ts=datetime(2024, 1, 2, 14, 32, tzinfo=UTC))
    assert evaluate(o, late, NO_COST).cancel_reason == "opg_missed"
    c = order(tif=TimeInForce.CLS, target_bar=target)
    assert evaluate(c, bar(100, 101, 99, 100.5), NO_COST).price == D("100.5")
    lim = order(type_="limit", tif=TimeInForce.CLS, target_bar=target, limit=D(100))
    assert evaluate(lim, bar(100, 101, 99, 100.5), NO_COST).cancel_reason == "cls_limit_not_reached"


def test_notional_buys_whole_or_fractional_shares() -> None:
    o = order(remaining=None, notional=D("1000"))
    assert evaluate(o, bar(30, 30, 30, 30), NO_COST).qty == D("33.333333")
    o = order(remaining=None, notional=D("1000"), fractionable=False)
    assert evaluate(o, bar(30, 30, 30, 30), NO_COST).qty == D(33)


def test_commission_per_share_percent_order_and_minimum() -> None:
    costs = Costs(commission_per_share=D("0.005"), commission_percent=D("0.1"),
                  commission_per_order=D(1), commission_minimum=D(2))
    # 0.005*100 + 0.1% * 100*50 + 1 = 0.5 + 5 + 1 = 6.50
    assert commission(D(100), D(50), costs, True) == D("6.50")
    assert commission(D(100), D(50), costs, False) == D("5.50")
    assert commission(D(1), D(10), costs, True) == D("2.00")  # minimum


def test_missing_prices_are_refused() -> None:
    with pytest.raises(ValueError, match="limit_price"):
        evaluate(order(type_="limit"), bar(1, 1, 1, 1), NO_COST)


def test_vectorised_prescreen_matches_the_exact_rules() -> None:
    rng = np.random.default_rng(7)
    n = 2000
    is_buy = rng.random(n) < 0.5
    types = rng.integers(0, 4, n).astype(np.int8)
    limit = rng.integers(95_000_000, 105_000_000, n)
    stop = rng.integers(95_000_000, 105_000_000, n)
    triggered = rng.random(n) < 0.3
    b = bar(100, 101, 99, 100.5)
    mask = candidate_mask(101_000_000, 99_000_000, is_buy, types, limit, stop, triggered,
                          np.zeros(n, bool))
    names = ["market", "limit", "stop", "stop_limit"]
    for i in range(n):
        o = order("buy" if is_buy[i] else "sell", names[types[i]],
                  limit=D(int(limit[i])) / 10**6 if types[i] in (1, 3) else None,
                  stop=D(int(stop[i])) / 10**6 if types[i] in (2, 3) else None,
                  triggered=bool(triggered[i]) and types[i] == 3)
        d = evaluate(o, b, NO_COST)
        if d.filled or (d.triggered and not o.triggered):
            assert mask[i], (i, o)
