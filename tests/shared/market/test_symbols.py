"""The universe: real US names first (real names, sectors, price scale), seeded tickers after."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shared.market import SimulatedProvider
from shared.market.symbols import (
    FUND_SECTOR,
    REAL_SYMBOLS,
    SECTORS,
    SymbolInfo,
    build_universe,
    normalize_symbol,
    universe_map,
)

LARGE_CAPS = {
    "AAPL": ("Apple Inc.", "Technology", "NASDAQ"),
    "MSFT": ("Microsoft Corporation", "Technology", "NASDAQ"),
    "NVDA": ("NVIDIA Corporation", "Technology", "NASDAQ"),
    "AMZN": ("Amazon.com, Inc.", "Consumer Discretionary", "NASDAQ"),
    "GOOG": ("Alphabet Inc. Class C", "Communication Services", "NASDAQ"),
    "META": ("Meta Platforms, Inc.", "Communication Services", "NASDAQ"),
    "TSLA": ("Tesla, Inc.", "Consumer Discretionary", "NASDAQ"),
    "SPY": ("SPDR S&P 500 ETF Trust", FUND_SECTOR, "ARCA"),
    "QQQ": ("Invesco QQQ Trust, Series 1", FUND_SECTOR, "NASDAQ"),
}
REAL = {row[0] for row in REAL_SYMBOLS}


def _equities(size: int, seed: int = 42) -> list[SymbolInfo]:
    return [s for s in build_universe(seed, size) if s.asset_class == "equity"]


@pytest.mark.parametrize("size", [9, 20, 100, 500])
def test_every_universe_of_nine_or_more_holds_the_large_caps_with_real_names(size: int) -> None:
    u = universe_map(42, size)
    for ticker, (name, sector, exchange) in LARGE_CAPS.items():
        info = u[ticker]
        assert (info.name, info.sector, info.exchange) == (name, sector, exchange), ticker
        assert info.shortable and info.fractionable and info.tradable


def test_real_table_is_well_formed() -> None:
    assert len(REAL_SYMBOLS) >= 100 and len(REAL) == len(REAL_SYMBOLS)
    assert [r[0] for r in REAL_SYMBOLS[:9]] == list(LARGE_CAPS)  # largest first
    for ticker, name, sector, exchange, price, vol in REAL_SYMBOLS:
        assert normalize_symbol(ticker) == ticker and "." not in ticker
        assert name and sector in (*SECTORS, FUND_SECTOR), ticker
        assert exchange in ("NASDAQ", "NYSE", "ARCA"), ticker
        assert 5 < price < 5000 and 0.005 <= vol <= 0.05, ticker
    funds = {r[0] for r in REAL_SYMBOLS if r[2] == FUND_SECTOR}
    assert {"SPY", "QQQ", "IWM", "DIA", "XLF", "XLE", "XLK"} <= funds
    assert {r[2] for r in REAL_SYMBOLS} >= set(SECTORS)  # every sector has a real name


@pytest.mark.parametrize("size", [1, 20, 100, 500, 5000])
def test_sizes_build_sorted_without_duplicates(size: int) -> None:
    u = build_universe(42, size)
    eq = [s for s in u if s.asset_class == "equity"]
    assert len(eq) == size
    assert [s.symbol for s in eq] == sorted(s.symbol for s in eq)
    assert len({s.symbol for s in u}) == len(u)
    assert [s.symbol for s in u[size:]] == ["BTC/USD", "ETH/USD", "SOL/USD", "LTC/USD"]
    assert {s.symbol for s in eq} & REAL == {r[0] for r in REAL_SYMBOLS[:size]}


def test_a_small_universe_takes_the_largest_real_names() -> None:
    assert {s.symbol for s in _equities(20)} == {r[0] for r in REAL_SYMBOLS[:20]}
    assert [s.symbol for s in _equities(3)] == ["AAPL", "MSFT", "NVDA"]


def test_seeded_names_that_remain_are_the_ones_the_seed_always_gave() -> None:
    u = universe_map(42, 500)
    # pinned from the universe before real names were added (seed 42)
    assert u["AD"] == SymbolInfo("AD", "Union Energy Partners", "Energy", "equity", "NYSE",
                                 "trend", 99.4, 0.015710942729823027, fractionable=False)
    assert u["ZZJK"] == SymbolInfo("ZZJK", "Iron Capital Partners", "Financials", "equity",
                                   "NYSE", "trend", 47.74, 0.011994935622986072)
    synthetic = [s for s in _equities(500) if s.symbol not in REAL]
    assert len(synthetic) == 500 - len(REAL_SYMBOLS)
    assert {s.regime for s in synthetic} == {"trend", "mean_revert", "shock", "random"}
    bigger = universe_map(42, 5000)
    assert all(bigger[s.symbol] == s for s in synthetic)  # a bigger universe only adds names


def test_seeded_tickers_that_collide_with_real_ones_are_left_out() -> None:
    u = universe_map(42, 5000)
    # the seed draws made-up KO, MA and GS among its first 5,000 names; the real ones win
    assert u["KO"].name == "The Coca-Cola Company" and u["MA"].name == "Mastercard Incorporated"
    assert u["GS"].sector == "Financials" and u["GS"].regime == "mean_revert"


def test_other_seeds_change_only_the_seeded_names() -> None:
    a, b = universe_map(42, 200), universe_map(7, 200)
    assert all(a[t] == b[t] for t in REAL)
    assert {t for t in a if t not in REAL} != {t for t in b if t not in REAL}


def _session_closes(calendar, tickers, session: str, seed: int = 42) -> dict[str, float]:
    u = universe_map(seed, 500)
    arr = SimulatedProvider(seed, u, calendar).generate_session(session, tickers)
    return {t: float(arr.close[i, -1]) for i, t in enumerate(tickers)}


@pytest.mark.parametrize("seed", [42, 7])
def test_real_names_trade_near_their_real_price_in_the_default_replay(calendar, seed) -> None:
    tickers = ["AAPL", "MSFT", "SPY", "NVDA", "TSLA", "BKNG"]
    u = universe_map(seed, 500)
    first = _session_closes(calendar, tickers, "2024-01-02", seed)  # clock.replay_start
    last = _session_closes(calendar, tickers, "2024-12-31", seed)
    for t in tickers:
        for close in (first[t], last[t]):
            assert u[t].base_price / 1.5 < close < u[t].base_price * 1.5, (t, close)


def test_real_names_move_by_their_typical_daily_volatility(calendar) -> None:
    """Close-to-close moves over 2024 come out near each name's table figure."""
    u = universe_map(42, 500)
    p = SimulatedProvider(42, u, calendar)
    idx = range(calendar.session_ordinal(pd.Timestamp("2024-01-02")),
                calendar.session_ordinal(pd.Timestamp("2024-12-31")) + 1)
    target = {r[0]: r[5] for r in REAL_SYMBOLS}
    for t in ("SPY", "AAPL", "NVDA", "TSLA"):
        closes = np.array([p.daily_open_close(t, i)[1] for i in idx])
        realized = float(np.diff(closes).std())
        assert target[t] * 0.7 < realized < target[t] * 1.4, (t, realized)
