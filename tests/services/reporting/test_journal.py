"""Round trips from fills: opens, adds, partial closes, flips, fees and booked cash."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from shared.analytics import Decision, build_round_trips
from shared.errors import ValidationError
from shared.trading.accounting import Position, apply_fill, fill_cash
from shared.trading.types import Side
from tests.services.reporting.factories import T0, fill

D = Decimal


def test_long_round_trip_fields() -> None:
    trips = build_round_trips([fill(0, "buy", 10, "100", "1", order="e1", strategy="s"),
                               fill(30, "sell", 10, "103.5", "1", order="x1")])
    assert len(trips) == 1
    t = trips[0]
    assert (t.side, t.strategy, t.entry_order_id, t.order_ids) == ("long", "s", "e1", ("e1", "x1"))
    assert (t.entry_price, t.exit_price, t.entry_qty, t.exit_qty, t.max_qty) == (
        D("100"), D("103.5"), 10, 10, 10)
    assert t.gross_pnl == D("35") and t.fees == D("2") and t.net_pnl == D("33")
    assert t.holding_time.total_seconds() == 1800
    assert t.return_pct == pytest.approx(33 / 1000)
    assert not t.is_open


def test_short_round_trip() -> None:
    t, = build_round_trips([fill(0, "sell", 5, "50", "0.5"), fill(5, "buy", 5, "48", "0.5")])
    assert t.side == "short"
    assert t.gross_pnl == D("10") and t.net_pnl == D("9")


def test_scale_in_and_partial_closes_stay_one_trip() -> None:
    # buy 10@100, buy 10@110 (avg 105), sell 5@120, sell 15@100
    fills = [fill(0, "buy", 10, "100", "1"), fill(1, "buy", 10, "110", "1"),
             fill(2, "sell", 5, "120", "1"), fill(3, "sell", 15, "100", "1")]
    t, = build_round_trips(fills)
    assert t.entry_price == D("105") and t.max_qty == 20 and t.entry_qty == 20
    # exit avg = (5*120 + 15*100)/20 = 105
    assert t.exit_price == D("105")
    assert t.gross_pnl == D("0")  # 5*15 - 15*5
    assert t.fees == D("4") and t.net_pnl == D("-4") and t.n_fills == 4


def test_open_trip_shows_realized_so_far() -> None:
    trips = build_round_trips([fill(0, "buy", 10, "100"), fill(1, "sell", 4, "105")])
    t, = trips
    assert t.is_open and t.exit_time is None and t.open_qty == 6
    assert t.gross_pnl == D("20")
    assert build_round_trips([fill(0, "buy", 1, "1")], include_open=False) == []


def test_flip_closes_and_opens_with_split_commission_and_cash() -> None:
    # long 10@100; sell 25@110 with fee 2.50 -> closes 10 (fee 1.00), opens short 15 (fee 1.50)
    fills = [fill(0, "buy", 10, "100", "1", order="a"), fill(5, "sell", 25, "110", "2.5",
                                                           order="b"),
             fill(9, "buy", 15, "108", "1.5", order="c")]
    first, second = build_round_trips(fills)
    assert (first.side, first.gross_pnl, first.fees) == ("long", D("100"), D("2"))
    assert (second.side, second.entry_price, second.entry_qty) == ("short", D("110"), 15)
    assert second.entry_time == first.exit_time
    assert second.entry_order_id == "b"
    assert second.gross_pnl == D("30") and second.fees == D("3")
    assert first.fees + second.fees == D("5")


def test_flip_fee_split_rounds_but_adds_up() -> None:
    first, second = build_round_trips([fill(0, "buy", 1, "10"),
                                       fill(1, "sell", 3, "10", "0.01")])
    assert first.fees + second.fees == D("0.01")
    assert first.fees == D("0.003333")


def test_symbols_are_independent_and_trip_ids_count_per_symbol() -> None:
    fills = [fill(0, "buy", 1, "10", symbol="A"), fill(1, "sell", 1, "20", symbol="B"),
             fill(2, "sell", 1, "11", symbol="A"), fill(3, "buy", 1, "10", symbol="A"),
             fill(4, "sell", 1, "12", symbol="A"), fill(5, "buy", 1, "19", symbol="B")]
    trips = build_round_trips(fills)
    assert [(t.trip_id, t.net_pnl) for t in trips] == [("A-1", 1), ("A-2", 2), ("B-1", 1)]


def test_booked_cash_is_the_closed_trip_pnl() -> None:
    # paper trading rounds each fill's cash to the cent: 3 * 10.0051 = 30.0153 -> 30.02 paid
    fills = [fill(0, "buy", 3, "10.0051", cash="-30.02"), fill(1, "sell", 3, "10.0149",
                                                               cash="30.04")]
    t, = build_round_trips(fills)
    assert t.gross_pnl == D("0.02")
    exact, = build_round_trips([fill(0, "buy", 3, "10.0051"), fill(1, "sell", 3, "10.0149")])
    assert exact.gross_pnl == D("0.0294")


def test_decisions_attach_by_entry_order() -> None:
    trips = build_round_trips(
        [fill(0, "buy", 1, "10", order="e"), fill(1, "sell", 1, "11", order="x")],
        {"e": Decision("dec-1", pattern="bull_flag", strategy="momentum"),
         "x": Decision("dec-2")})
    assert (trips[0].decision_id, trips[0].pattern, trips[0].strategy) == (
        "dec-1", "bull_flag", "momentum")


def test_same_time_fills_keep_their_order_and_unsorted_input_is_sorted() -> None:
    a, b, c = fill(0, "buy", 1, "10"), fill(0, "sell", 1, "12"), fill(-5, "buy", 1, "9")
    trips = build_round_trips([a, b, c])
    # c (earlier) opens 1, a adds 1, b closes 1: one open trip of qty 1 remaining
    assert len(trips) == 1 and trips[0].open_qty == 1 and trips[0].entry_time < T0


def test_duplicate_fill_ids_and_bad_fills_are_rejected() -> None:
    with pytest.raises(ValidationError) as err:
        build_round_trips([fill(0, "buy", 1, "1", fill_id="f"), fill(1, "sell", 1, "1",
                                                                     fill_id="f")])
    assert err.value.field == "fill_id"
    for kwargs, field in (({"qty": 0}, "qty"), ({"price": "-1"}, "price"),
                          ({"fee": "-0.01"}, "commission"), ({"side": "hold"}, "side"),
                          ({"cash": "10"}, "cash")):
        args = {"minute": 0, "side": "buy", "qty": 1, "price": "1", **kwargs}
        with pytest.raises(ValidationError) as err:
            fill(**args)
        assert err.value.field == field


_fill_st = st.tuples(st.sampled_from(["buy", "sell"]), st.integers(1, 50),
                     st.decimals("1.00", "200.00", places=2), st.decimals("0", "2", places=2))


@settings(max_examples=150, deadline=None)
@given(st.lists(_fill_st, min_size=1, max_size=25))
def test_pnl_agrees_with_paper_tradings_position_accounting(raw: list) -> None:
    """Independent check: paper trading's own apply_fill (average cost, cent rounding).

    Flattening at the end, the closed trips' net P&L equals the booked cash plus commissions
    exactly, and the sum of paper trading's per-fill realized P&L to within a cent per fill.
    """
    fills, pos, realized, booked = [], Position("AAA"), D(0), D(0)
    for i, (side, qty, price, fee) in enumerate(raw):
        fills.append(fill(i, side, qty, price, fee, cash=fill_cash(Side(side), D(qty), price)))
        eff = apply_fill(pos, Side(side), D(qty), price)
        pos, realized = eff.position, realized + eff.realized
        booked += eff.cash - fee
    if pos.qty:
        side = "sell" if pos.qty > 0 else "buy"
        last = fill(len(raw), side, abs(pos.qty), "100", "0",
                    cash=fill_cash(Side(side), abs(pos.qty), D(100)))
        fills.append(last)
        eff = apply_fill(pos, Side(side), abs(pos.qty), D(100))
        realized += eff.realized
        booked += eff.cash
    trips = build_round_trips(fills)
    assert all(not t.is_open for t in trips)
    net = sum((t.net_pnl for t in trips), D(0))
    fees = sum((f.commission for f in fills), D(0))
    assert net == booked
    assert sum((t.fees for t in trips), D(0)) == fees
    assert abs((net + fees) - realized) <= D("0.01") * len(fills)
    # the average-cost trip P&L with exact cash equals proceeds minus cost exactly
    exact = build_round_trips([f.__class__(**{**f.__dict__, "cash": None}) for f in fills])
    assert sum((t.gross_pnl for t in exact), D(0)) == -sum(
        (f.signed_qty * f.price for f in fills), D(0))
