"""The symbol universe (deterministic US-style tickers with names and sectors) and classes.

The universe is made up, not real companies: tickers are built from a seed so the simulated
market has 500+ stable names across sectors, plus a few crypto pairs that trade 24/7.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import lru_cache

import numpy as np

from shared.errors import ValidationError

SECTORS = (
    "Technology", "Health Care", "Financials", "Consumer Discretionary", "Communication Services",
    "Industrials", "Consumer Staples", "Energy", "Utilities", "Real Estate", "Materials",
)
REGIMES = ("trend", "mean_revert", "shock", "random")
_SUFFIX = ("Corp", "Inc", "Holdings", "Group", "Systems", "Labs", "Industries", "Partners")
_STEMS = ("Acme", "Apex", "Blue", "Cedar", "Delta", "Echo", "Frontier", "Granite", "Harbor",
          "Iron", "Juniper", "Keystone", "Lumen", "Maple", "Nova", "Orbit", "Pioneer", "Quartz",
          "River", "Summit", "Titan", "Union", "Vertex", "Willow", "Xenon", "Yield", "Zenith")
_SECTOR_WORD = {"Technology": "Software", "Health Care": "Bio", "Financials": "Capital",
                "Consumer Discretionary": "Retail", "Communication Services": "Media",
                "Industrials": "Machines", "Consumer Staples": "Foods", "Energy": "Energy",
                "Utilities": "Power", "Real Estate": "Realty", "Materials": "Materials"}
DEFAULT_CRYPTO = ("BTC/USD", "ETH/USD", "SOL/USD", "LTC/USD")
_EQUITY = re.compile(r"^[A-Z][A-Z0-9.]{0,9}$")
_CRYPTO = re.compile(r"^[A-Z0-9]{2,10}/(USD|USDT|USDC|BTC|EUR)$")


class AssetClass(StrEnum):
    EQUITY = "equity"
    CRYPTO = "crypto"


@dataclass(frozen=True)
class SymbolInfo:
    symbol: str
    name: str
    sector: str
    asset_class: str
    exchange: str
    regime: str
    base_price: float
    daily_vol: float
    shortable: bool = True
    fractionable: bool = True
    tradable: bool = True

    def to_dict(self) -> dict[str, object]:
        return asdict(self)


def normalize_symbol(symbol: str) -> str:
    """Return the symbol upper-cased and checked ('btcusd' style crypto gets its slash).

    Raises:
        ValidationError: when it is not an equity ticker or a crypto pair.
    """
    if not isinstance(symbol, str) or not symbol.strip():
        raise ValidationError(f"symbol must be a non-empty string, was {symbol!r}", field="symbol")
    s = symbol.strip().upper().replace("-", "/")
    if _CRYPTO.match(s) or _EQUITY.match(s):
        return s
    raise ValidationError(f"not a ticker or crypto pair: {symbol!r}", field="symbol")


def classify(symbol: str) -> AssetClass:
    """Return the asset class of ``symbol``: a pair with a slash is crypto, else equity."""
    return AssetClass.CRYPTO if "/" in normalize_symbol(symbol) else AssetClass.EQUITY


def _ticker(i: int, rng: np.random.Generator, taken: set[str]) -> str:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    while True:
        n = int(rng.choice([2, 3, 3, 4, 4, 4]))
        t = "".join(rng.choice(letters, n))
        if t not in taken:
            taken.add(t)
            return t


@lru_cache(maxsize=8)
def build_universe(seed: int, size: int = 500,
                   crypto: tuple[str, ...] = DEFAULT_CRYPTO) -> tuple[SymbolInfo, ...]:
    """Return ``size`` deterministic equities (sorted by ticker) followed by the crypto pairs."""
    rng = np.random.default_rng([seed, 7919])
    taken: set[str] = set()
    out = []
    for i in range(size):
        t = _ticker(i, rng, taken)
        sector = SECTORS[int(rng.integers(len(SECTORS)))]
        name = (f"{_STEMS[int(rng.integers(len(_STEMS)))]} {_SECTOR_WORD[sector]} "
                f"{_SUFFIX[int(rng.integers(len(_SUFFIX)))]}")
        regime = REGIMES[int(rng.choice(4, p=[0.3, 0.3, 0.15, 0.25]))]
        price = float(np.round(np.exp(rng.uniform(np.log(5), np.log(600))), 2))
        vol = float(rng.uniform(0.01, 0.035))
        out.append(SymbolInfo(t, name, sector, "equity", "NYSE" if rng.random() < 0.4 else "NASDAQ",
                              regime, price, vol, shortable=bool(rng.random() < 0.9),
                              fractionable=bool(rng.random() < 0.8)))
    out.sort(key=lambda s: s.symbol)
    bases = {"BTC": 60000.0, "ETH": 3000.0, "SOL": 150.0, "LTC": 80.0}
    for pair in crypto:
        base = pair.split("/")[0]
        out.append(SymbolInfo(pair, f"{base} / US Dollar", "Crypto", "crypto", "CRYPTO",
                              "random", bases.get(base, 10.0), 0.04, shortable=False))
    return tuple(out)


def universe_map(seed: int, size: int = 500,
                 crypto: tuple[str, ...] = DEFAULT_CRYPTO) -> dict[str, SymbolInfo]:
    return {s.symbol: s for s in build_universe(seed, size, crypto)}
