"""The built-in market's fundamentals: deterministic from the seed and agreeing with its price."""
from __future__ import annotations

import math
from datetime import date
from decimal import ROUND_HALF_UP, Decimal

import pytest

from shared.errors import NotFound
from shared.market import get_calendar
from shared.market.fundamentals._real import REAL
from shared.market.fundamentals.simulated import (
    REFERENCE_SESSION,
    SimulatedFundamentals,
    earnings_dates,
    path_price_scale,
)
from shared.market.simulated import SimulatedProvider
from shared.market.symbols import universe_map


def _sim(seed: int, size: int = 150) -> SimulatedFundamentals:
    uni = universe_map(seed, size)
    return SimulatedFundamentals(seed, uni, path_price_scale(seed, uni, get_calendar()),
                                 today=lambda: date(2024, 3, 1))


def test_same_seed_same_numbers_other_seed_other_numbers() -> None:
    a, b = _sim(42), _sim(42)
    for sym in a.universe:
        assert a.fetch_fundamentals(sym) == b.fetch_fundamentals(sym)
    # the same names and prices under another seed: the made-up names' numbers change; the
    # real names keep their real size
    other = SimulatedFundamentals(7, a.universe, a.price_scale, today=a.today)
    made_up = [s for s, i in a.universe.items() if i.asset_class == "equity" and s not in REAL]
    changed = [s for s in made_up
               if a.fetch_fundamentals(s)["shares_outstanding"]
               != other.fetch_fundamentals(s)["shares_outstanding"]]
    assert len(made_up) > 40 and len(changed) == len(made_up)
    assert (a.fetch_fundamentals("AAPL")["shares_outstanding"]
            == other.fetch_fundamentals("AAPL")["shares_outstanding"])


def test_market_cap_and_pe_agree_with_the_simulated_price() -> None:
    sim = _sim(42)
    prov = SimulatedProvider(42, sim.universe, get_calendar())
    import pandas as pd
    idx = get_calendar().session_ordinal(pd.Timestamp(REFERENCE_SESSION))
    checked = 0
    for sym, info in sim.universe.items():
        rec = sim.fetch_fundamentals(sym)
        price = Decimal(repr(round(math.exp(prov.daily_open_close(sym, idx)[1]), 2)))
        cap = Decimal(rec["market_cap"])
        if info.asset_class == "crypto":
            assert rec["pe_ratio"] is None and "no earnings" in rec["notes"]["pe_ratio"]
            continue
        shares = Decimal(rec["shares_outstanding"])
        assert abs(cap - shares * price) <= 1, sym
        assert 0 < Decimal(rec["float_shares"]) <= shares
        if rec["pe_ratio"] is not None:
            assert Decimal(rec["pe_ratio"]) == (price / Decimal(rec["eps"])).quantize(
                Decimal("0.01"), rounding=ROUND_HALF_UP)
            checked += 1
    assert checked > 100
    aapl = sim.fetch_fundamentals("AAPL")
    # Apple's real size (about $3T at the end of 2023), priced at the simulated close
    assert Decimal("2.5e12") < Decimal(aapl["market_cap"]) < Decimal("3.4e12")
    assert aapl["sector"] == "Technology" and aapl["industry"] == "Consumer Electronics"


def test_funds_and_coins_have_no_earnings_with_a_reason() -> None:
    sim = _sim(42)
    spy = sim.fetch_fundamentals("SPY")
    for f in ("pe_ratio", "eps", "next_earnings_date", "last_earnings_date"):
        assert spy[f] is None and spy["notes"][f] == "a fund has no earnings of its own"
    assert spy["market_cap"] and spy["sector"] == "ETF"
    btc = sim.fetch_fundamentals("BTC/USD")
    assert btc["shares_outstanding"] is None and btc["eps"] is None
    assert Decimal(btc["market_cap"]) > Decimal("1e11")


def test_earnings_schedule_brackets_the_day_and_skips_weekends() -> None:
    last, nxt = earnings_dates(date(2024, 1, 20), date(2024, 3, 1))
    assert last <= date(2024, 3, 1) < nxt
    assert last.weekday() < 5 and nxt.weekday() < 5
    rec = _sim(42).fetch_fundamentals("MSFT")
    assert rec["last_earnings_date"] <= "2024-03-01" < rec["next_earnings_date"]


def test_unknown_symbol_is_not_found() -> None:
    with pytest.raises(NotFound, match="ZZZZZ"):
        _sim(42).fetch_fundamentals("ZZZZZ")
