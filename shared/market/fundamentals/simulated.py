"""The built-in market's fundamentals: deterministic from the seed, offline, always there.

Each universe symbol gets shares outstanding and float, EPS, a P/E, sector and industry, a
dividend yield, a beta and a quarterly earnings schedule from its own random stream
(``[seed, crc32(symbol), 11]``), so the same seed gives the same numbers on any machine.
They agree with the simulated price: market cap = shares x the price scale and
P/E = price scale / EPS, where the price scale is the symbol's simulated close on
``REFERENCE_SESSION`` (the real names' base prices are of that day, and the default replay
starts the next session).  The real names take their real size (``_real.REAL``) as
shares = value / base price.  Funds and coins have no earnings: their P/E, EPS and earnings
dates are None, with the reason in ``notes``.
"""
from __future__ import annotations

import math
import zlib
from collections.abc import Callable, Mapping
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

import numpy as np
from cachetools import LRUCache

from shared.errors import NotFound
from shared.market.fundamentals._real import (
    COIN_SUPPLY,
    INDUSTRIES,
    REAL,
    SECTOR_DIVIDEND,
    SECTOR_PE,
)
from shared.market.fundamentals.fields import FIELDS
from shared.market.symbols import FUND_SECTOR, SymbolInfo

NAME = "simulated"
REFERENCE_SESSION = date(2023, 12, 29)
_CENT = Decimal("0.01")
_QUARTER_DAYS = 91
_NO_EARNINGS = {"ETF": "a fund has no earnings of its own",
                "crypto": "a coin has no earnings"}


def _q(d: Decimal, unit: Decimal = _CENT) -> Decimal:
    return d.quantize(unit, rounding=ROUND_HALF_UP)


def path_price_scale(seed: int, universe: Mapping[str, SymbolInfo], calendar: Any
                     ) -> Callable[[str], Decimal]:
    """Return ``symbol -> its simulated close on REFERENCE_SESSION`` (2 decimals).

    The same daily path the built-in market's bars are drawn from (``SimulatedProvider``).
    """
    import pandas as pd

    from shared.market.simulated import CRYPTO_EPOCH, SimulatedProvider

    sim = SimulatedProvider(seed, dict(universe), calendar)
    equity_idx = calendar.session_ordinal(pd.Timestamp(REFERENCE_SESSION))
    crypto_idx = (REFERENCE_SESSION - CRYPTO_EPOCH.date()).days

    def scale(symbol: str) -> Decimal:
        crypto = sim.info(symbol).asset_class == "crypto"
        _, log_close = sim.daily_open_close(symbol, crypto_idx if crypto else equity_idx)
        return _q(Decimal(repr(round(math.exp(log_close), 2))))

    return scale


def _weekday(d: date) -> date:
    return d + timedelta(days=(7 - d.weekday()) % 7) if d.weekday() >= 5 else d


def earnings_dates(anchor: date, as_of: date) -> tuple[date, date]:
    """Return (last, next) of a quarterly schedule through ``anchor``: last <= as_of < next.

    A report that falls on a weekend moves to the Monday after.
    """
    k = (as_of - anchor).days // _QUARTER_DAYS
    days = [_weekday(anchor + timedelta(days=_QUARTER_DAYS * i)) for i in range(k - 1, k + 3)]
    last = max(d for d in days if d <= as_of)
    return last, min(d for d in days if d > as_of)


class SimulatedFundamentals:
    """``fetch_fundamentals(symbol)`` for the built-in universe (the provider contract)."""

    name = NAME

    def __init__(self, seed: int, universe: Mapping[str, SymbolInfo],
                 price_scale: Callable[[str], Decimal],
                 today: Callable[[], date] | None = None) -> None:
        """``today`` dates the earnings schedule (the market clock's date; default: UTC's)."""
        self.seed = int(seed)
        self.universe = universe
        self.price_scale = price_scale
        self.today = today or (lambda: datetime.now(UTC).date())
        # (symbol, day) -> record: a scan asks for every symbol at each step
        self._memo: LRUCache[tuple[str, date], dict[str, Any]] = LRUCache(8192)

    def _rng(self, symbol: str) -> np.random.Generator:
        return np.random.default_rng([self.seed, zlib.crc32(symbol.encode()), 11])

    def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
        """Return the normalised record of ``symbol`` plus ``notes`` (field -> why None).

        Raises:
            NotFound: a symbol outside the universe.
        """
        key = (symbol, self.today())
        held = self._memo.get(key)
        if held is None:
            held = self._memo[key] = self._record(symbol, key[1])
        return {**held, "notes": dict(held["notes"])}

    def _record(self, symbol: str, today: date) -> dict[str, Any]:
        info = self.universe.get(symbol)
        if info is None:
            raise NotFound(f"unknown symbol {symbol!r}: not in the built-in market's universe",
                           field="symbol")
        rng = self._rng(symbol)
        price = self.price_scale(symbol)
        kind = ("crypto" if info.asset_class == "crypto"
                else "ETF" if info.sector == FUND_SECTOR else "equity")
        out: dict[str, Any] = {"name": info.name, "exchange": info.exchange, "currency": "USD",
                               "sector": info.sector, "notes": {}}
        if kind == "crypto":
            base = symbol.split("/")[0]
            supply = COIN_SUPPLY.get(base) or int(rng.integers(10, 1000)) * 1_000_000
            out.update(industry="Digital Currency", market_cap=str(_q(price * supply, Decimal(1))))
            for f in ("shares_outstanding", "float_shares", "dividend_yield"):
                out["notes"][f] = "a coin has no shares or dividends"
            out["beta"] = str(_q(Decimal(repr(float(rng.uniform(1.5, 3.0))))))
        else:
            self._equity(info, kind, price, rng, out, today)
        if kind != "equity":
            for f in ("pe_ratio", "eps", "next_earnings_date", "last_earnings_date"):
                out[f] = None
                out["notes"][f] = _NO_EARNINGS[kind]
        for f in FIELDS:  # the contract: every key, None where there is no value
            out.setdefault(f, None)
        return out

    def _equity(self, info: SymbolInfo, kind: str, price: Decimal, rng: np.random.Generator,
                out: dict[str, Any], today: date) -> None:
        # every draw is taken whatever the kind, so each value keeps its place in the stream
        shares_draw = float(np.exp(rng.uniform(np.log(2e7), np.log(2e9))))
        float_frac = float(rng.uniform(0.72, 0.99))
        pe_spread, loss = float(rng.lognormal(0.0, 0.35)), bool(rng.random() < 0.1)
        pays, yield_spread = float(rng.random()), float(rng.lognormal(0.0, 0.4))
        beta_spread = float(rng.uniform(0.8, 1.2))
        anchor = date(2024, 1, 15) + timedelta(days=int(rng.integers(0, 45)))
        industry_pick = int(rng.integers(1 << 30))
        real = REAL.get(info.symbol)
        if real is not None:
            shares = Decimal(real[0]) * 10**9 / Decimal(repr(info.base_price))
            industry = real[1]
        else:
            shares = Decimal(repr(shares_draw))
            names = INDUSTRIES.get(info.sector, ("Diversified",))
            industry = names[industry_pick % len(names)]
        shares = _q(shares / 1000, Decimal(1)) * 1000
        out["industry"] = industry
        out["shares_outstanding"] = str(shares)
        out["float_shares"] = str(_q(shares * Decimal(repr(float_frac)) / 1000, Decimal(1)) * 1000)
        out["market_cap"] = str(_q(shares * price, Decimal(1)))
        # mean-reverting names' table volatility was halved (symbols._MEAN_REVERT_VOL_GAIN)
        vol = info.daily_vol * (2.0 if info.regime == "mean_revert" else 1.0)
        out["beta"] = str(_q(Decimal(repr(0.35 + 45.0 * vol * beta_spread))))
        if kind == "ETF":
            out["dividend_yield"] = str(_q(Decimal(repr(0.012 * yield_spread)), Decimal("0.0001")))
            return
        chance, typical = SECTOR_DIVIDEND.get(info.sector, (0.5, 0.015))
        out["dividend_yield"] = (str(_q(Decimal(repr(typical * yield_spread)), Decimal("0.0001")))
                                 if pays < chance else "0")
        pe_target = SECTOR_PE.get(info.sector, 20.0) * pe_spread
        eps = _q(price / Decimal(repr(pe_target)))
        if loss:
            eps = -max(eps / 3, _CENT)
        if eps == 0:
            eps = _CENT
        out["eps"] = str(_q(eps))
        if eps > 0:
            out["pe_ratio"] = str(_q(price / eps))
        else:
            out["pe_ratio"] = None
            out["notes"]["pe_ratio"] = "negative earnings: no P/E"
        last, nxt = earnings_dates(anchor, today)
        out["last_earnings_date"], out["next_earnings_date"] = last.isoformat(), nxt.isoformat()
