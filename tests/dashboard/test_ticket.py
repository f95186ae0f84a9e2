"""The ticket's figures and its clock hold, without HTTP: the estimate prices an order as paper
trading's intake reserves it, in Decimal; the hold resumes only a pause it made, on release or
once its renewals stop."""
from __future__ import annotations

import time
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from dashboard.ticket import ClockHold, TicketQuery, estimate, parse_quote, reserve_price

QUOTE = {"symbol": "AAPL", "bid": Decimal("186.4314"), "ask": Decimal("186.4686"),
         "last": Decimal("186.45"), "as_of": "2024-01-02T14:29:00Z"}
ACCOUNT = {"buying_power": "398042.3"}
TEN_K = Decimal("10000")


def q(**kw: Any) -> TicketQuery:
    return TicketQuery(symbol="AAPL", **kw)


def test_quote_is_read_exactly_from_the_snapshot() -> None:
    snap = {"AAPL": {"latestQuote": {"bp": Decimal("186.4314"), "ap": Decimal("186.4686"),
                                     "t": "x"},
                     "latestTrade": {"p": Decimal("186.44")},
                     "minuteBar": {"c": Decimal("186.45"), "t": "2024-01-02T14:29:00Z"}}}
    out = parse_quote("AAPL", snap)
    assert out["bid"] == Decimal("186.4314") and out["ask"] == Decimal("186.4686")
    assert out["last"] == Decimal("186.45")  # the last closed minute: what intake prices at
    assert parse_quote("MSFT", snap)["last"] is None


@pytest.mark.parametrize(("kw", "price", "basis"), [
    ({"side": "buy", "type": "limit", "limit_price": Decimal("150")}, "150", "limit price"),
    ({"side": "buy", "type": "stop_limit", "limit_price": Decimal("150"),
      "stop_price": Decimal("149")}, "186.45", "last price"),  # at least the last price
    ({"side": "buy", "type": "market"}, "186.45", "last price"),
    ({"side": "sell", "type": "limit", "limit_price": Decimal("200")}, "186.45", "last price"),
    ({"side": "buy", "type": "stop", "stop_price": Decimal("190")}, "186.45", "last price"),
])
def test_reserve_price_follows_intake(kw: dict[str, Any], price: str, basis: str) -> None:
    assert reserve_price(q(**kw), QUOTE["last"]) == (Decimal(price), basis)


def test_cost_buying_power_after_and_the_confirmation() -> None:
    est = estimate(q(qty=Decimal("7"), type="limit", limit_price=Decimal("101.37")), QUOTE,
                   ACCOUNT, Decimal(0), TEN_K)
    assert est["cost"] == "709.59" and est["buying_power"] == "398042.3"
    assert est["buying_power_after"] == "397332.71"
    assert est["needs_confirmation"] is False and est["quote"]["bid"] == "186.4314"
    big = estimate(q(qty=Decimal("100"), type="limit", limit_price=Decimal("150")), QUOTE,
                   ACCOUNT, Decimal(0), TEN_K)
    assert big["cost"] == "15000" and big["needs_confirmation"] is True
    at = estimate(q(qty=Decimal("100"), type="limit", limit_price=Decimal("100")), QUOTE,
                  ACCOUNT, Decimal(0), TEN_K)
    assert at["needs_confirmation"] is False  # "above" the size, not at it


def test_closing_shares_take_no_buying_power() -> None:
    est = estimate(q(side="sell", qty=Decimal("15"), type="market"), QUOTE, ACCOUNT,
                   Decimal("10"), TEN_K)
    assert est["closing_qty"] == "10" and est["opening_qty"] == "5"
    assert est["cost"] == "2796.75"
    assert Decimal(est["buying_power_after"]) == Decimal("398042.3") - 5 * Decimal("186.45")


def test_notional_order_costs_its_notional_and_nothing_without_a_quantity() -> None:
    est = estimate(q(notional=Decimal("2500"), type="market"), QUOTE, ACCOUNT, Decimal(0), TEN_K)
    assert est["cost"] == "2500" and est["buying_power_after"] == "395542.3"
    empty = estimate(q(type="market"), QUOTE, ACCOUNT, Decimal(0), TEN_K)
    assert empty["cost"] is None and empty["buying_power_after"] is None
    assert empty["needs_confirmation"] is False


def test_a_bad_field_is_a_400_naming_it() -> None:
    from pydantic import ValidationError as PydanticError

    with pytest.raises(PydanticError) as exc:
        TicketQuery(symbol="AAPL", qty=Decimal("-5"))
    assert exc.value.errors()[0]["loc"] == ("qty",)


@given(qty=st.decimals(min_value=Decimal("0.000001"), max_value=Decimal("100000"), places=6),
       price=st.decimals(min_value=Decimal("0.01"), max_value=Decimal("10000"), places=4))
def test_estimate_is_exact(qty: Decimal, price: Decimal) -> None:
    est = estimate(q(qty=qty, type="limit", limit_price=price), QUOTE, ACCOUNT, Decimal(0), TEN_K)
    assert Decimal(est["cost"]) == qty * price
    assert Decimal(est["buying_power_after"]) == Decimal("398042.3") - qty * price


class FakeClock:
    """Coordination's clock: pause/resume flip ``paused``; the speed is never touched."""

    def __init__(self, paused: bool = False, mode: str = "replay") -> None:
        self.state = {"mode": mode, "paused": paused, "speed": 130.0}
        self.calls: list[str] = []

    def pause(self) -> None:
        self.calls.append("pause")
        self.state["paused"] = True

    def resume(self) -> None:
        self.calls.append("resume")
        self.state["paused"] = False

    def hold(self, ttl_s: float) -> ClockHold:
        return ClockHold(self.pause, self.resume, lambda: dict(self.state), ttl_s)


def test_hold_pauses_renews_and_resumes_on_release() -> None:
    clock = FakeClock()
    hold = clock.hold(5.0)
    assert hold.hold()["held"] is True and clock.state["paused"] is True
    assert hold.hold()["result"] == "renewed"
    assert hold.release()["result"] == "resumed"
    assert clock.state == {"mode": "replay", "paused": False, "speed": 130.0}
    assert clock.calls == ["pause", "resume"]
    assert hold.release()["result"] == "no hold"  # a second release does nothing


def test_hold_lapses_without_renewals() -> None:
    clock = FakeClock()
    hold = clock.hold(0.5)
    hold.hold()
    deadline = time.monotonic() + 5
    while clock.state["paused"]:
        assert time.monotonic() < deadline, "the hold never lapsed"
        time.sleep(0.05)
    assert clock.calls == ["pause", "resume"] and hold.status()["held"] is False


def test_hold_leaves_a_clock_it_did_not_pause() -> None:
    paused = FakeClock(paused=True)
    assert paused.hold(5.0).hold() == {"held": False, "result": "the clock is already paused",
                                       "ttl_s": 5.0, "expires_in_s": None}
    live = FakeClock(mode="live")
    assert live.hold(5.0).hold()["held"] is False
    assert paused.calls == [] and live.calls == []
