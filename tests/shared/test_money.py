"""Exact money: Decimal <-> integer micro-units, round trips and sums without drift."""
from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from shared.domain.money import D, cents, from_micros, money_str, to_micros

amounts = st.decimals(min_value=Decimal("-1e9"), max_value=Decimal("1e9"), places=6,
                      allow_nan=False, allow_infinity=False)


@given(amounts)
def test_micros_round_trip_exactly(x: Decimal) -> None:
    assert from_micros(to_micros(x)) == x


@given(st.lists(amounts, max_size=50))
def test_sums_in_micros_equal_decimal_sums(xs: list[Decimal]) -> None:
    assert from_micros(sum(to_micros(x) for x in xs)) == sum(xs, Decimal(0))


def test_floats_enter_by_their_shortest_repr() -> None:
    assert D(0.1) + D(0.2) == Decimal("0.3")
    assert to_micros(185.07) == 185_070_000
    assert to_micros("0.0000005") == 0 and to_micros("0.0000015") == 2  # half-even


@pytest.mark.parametrize("bad", [float("nan"), float("inf"), "abc", None, True, "1e400", [1]])
def test_non_numbers_are_refused(bad: object) -> None:
    with pytest.raises(ValueError):
        D(bad)


def test_formatting() -> None:
    assert money_str(Decimal("1E+2")) == "100"
    assert money_str(Decimal("12.3400")) == "12.34"
    assert money_str(Decimal("12.345"), 2) == "12.34"
    assert money_str(Decimal("-0.00")) == "0"
    assert cents("2.675") == Decimal("2.68") and cents("2.665") == Decimal("2.66")
