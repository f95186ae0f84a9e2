"""The symbol universe (US tickers with names and sectors, plus crypto pairs) and classes.

The universe starts with about a hundred real, well-known US names (the largest S&P 500 and
Nasdaq-100 companies and the big ETFs) with their real names, sectors and exchanges and a base
price near their late-2023 close, split-adjusted; it is filled up to its size with made-up
tickers built from a seed, then a few crypto pairs that trade 24/7.  Every price of the
built-in market is simulated, real names included: only the names and the price scale are real.
"""
from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import lru_cache
from typing import Annotated

import numpy as np
from pydantic import AfterValidator

from shared.errors import ValidationError

SECTORS = (
    "Technology", "Health Care", "Financials", "Consumer Discretionary", "Communication Services",
    "Industrials", "Consumer Staples", "Energy", "Utilities", "Real Estate", "Materials",
)
#: The sector of exchange-traded funds (index, sector, gold and bond funds alike), so that a
#: sector filter for e.g. Technology lists companies, not funds holding them.
FUND_SECTOR = "ETF"
REGIMES = ("trend", "mean_revert", "shock", "random")
_SUFFIX = ("Corp", "Inc", "Holdings", "Group", "Systems", "Labs", "Industries", "Partners")
_STEMS = ("Acme", "Apex", "Blue", "Cedar", "Delta", "Echo", "Frontier", "Granite", "Harbor",
          "Iron", "Juniper", "Keystone", "Lumen", "Maple", "Nova", "Orbit", "Pioneer", "Quartz",
          "River", "Summit", "Titan", "Union", "Vertex", "Willow", "Xenon", "Yield", "Zenith")
_SECTOR_WORD = {"Technology": "Software", "Health Care": "Bio", "Financials": "Capital",
                "Consumer Discretionary": "Retail", "Communication Services": "Media",
                "Industrials": "Machines", "Consumer Staples": "Foods", "Energy": "Energy",
                "Utilities": "Power", "Real Estate": "Realty", "Materials": "Materials"}
_T, _H, _F, _D, _C = ("Technology", "Health Care", "Financials", "Consumer Discretionary",
                      "Communication Services")
_I, _S, _E, _U, _R, _M = ("Industrials", "Consumer Staples", "Energy", "Utilities",
                          "Real Estate", "Materials")
_Q, _N, _A = "NASDAQ", "NYSE", "ARCA"
#: Real US names, largest first (the order a small universe takes them in): ticker, name,
#: sector, primary exchange, base price (about the 2023-12-29 close, split-adjusted) and the
#: typical daily close-to-close volatility.
REAL_SYMBOLS: tuple[tuple[str, str, str, str, float, float], ...] = (
    ("AAPL", "Apple Inc.", _T, _Q, 192.53, 0.014),
    ("MSFT", "Microsoft Corporation", _T, _Q, 376.04, 0.014),
    ("NVDA", "NVIDIA Corporation", _T, _Q, 49.52, 0.030),
    ("AMZN", "Amazon.com, Inc.", _D, _Q, 151.94, 0.020),
    ("GOOG", "Alphabet Inc. Class C", _C, _Q, 140.93, 0.018),
    ("META", "Meta Platforms, Inc.", _C, _Q, 353.96, 0.022),
    ("TSLA", "Tesla, Inc.", _D, _Q, 248.48, 0.030),
    ("SPY", "SPDR S&P 500 ETF Trust", FUND_SECTOR, _A, 475.31, 0.008),
    ("QQQ", "Invesco QQQ Trust, Series 1", FUND_SECTOR, _Q, 409.52, 0.011),
    ("GOOGL", "Alphabet Inc. Class A", _C, _Q, 139.69, 0.018),
    ("AVGO", "Broadcom Inc.", _T, _Q, 111.63, 0.022),
    ("JPM", "JPMorgan Chase & Co.", _F, _N, 170.10, 0.012),
    ("LLY", "Eli Lilly and Company", _H, _N, 582.92, 0.018),
    ("V", "Visa Inc.", _F, _N, 260.35, 0.010),
    ("IWM", "iShares Russell 2000 ETF", FUND_SECTOR, _A, 200.71, 0.013),
    ("DIA", "SPDR Dow Jones Industrial Average ETF Trust", FUND_SECTOR, _A, 376.87, 0.008),
    ("UNH", "UnitedHealth Group Incorporated", _H, _N, 526.47, 0.013),
    ("XOM", "Exxon Mobil Corporation", _E, _N, 99.98, 0.015),
    ("MA", "Mastercard Incorporated", _F, _N, 426.51, 0.011),
    ("JNJ", "Johnson & Johnson", _H, _N, 156.74, 0.010),
    ("WMT", "Walmart Inc.", _S, _N, 52.55, 0.010),
    ("PG", "The Procter & Gamble Company", _S, _N, 146.54, 0.010),
    ("HD", "The Home Depot, Inc.", _D, _N, 346.55, 0.013),
    ("COST", "Costco Wholesale Corporation", _S, _Q, 660.08, 0.012),
    ("ORCL", "Oracle Corporation", _T, _N, 105.43, 0.018),
    ("MRK", "Merck & Co., Inc.", _H, _N, 109.02, 0.012),
    ("ABBV", "AbbVie Inc.", _H, _N, 154.97, 0.013),
    ("CVX", "Chevron Corporation", _E, _N, 149.16, 0.015),
    ("BAC", "Bank of America Corporation", _F, _N, 33.67, 0.016),
    ("KO", "The Coca-Cola Company", _S, _N, 58.93, 0.009),
    ("PEP", "PepsiCo, Inc.", _S, _Q, 169.84, 0.009),
    ("AMD", "Advanced Micro Devices, Inc.", _T, _Q, 147.41, 0.030),
    ("NFLX", "Netflix, Inc.", _C, _Q, 486.88, 0.020),
    ("ADBE", "Adobe Inc.", _T, _Q, 596.60, 0.019),
    ("CRM", "Salesforce, Inc.", _T, _N, 263.14, 0.018),
    ("TMO", "Thermo Fisher Scientific Inc.", _H, _N, 530.79, 0.014),
    ("LIN", "Linde plc", _M, _Q, 410.71, 0.010),
    ("MCD", "McDonald's Corporation", _D, _N, 296.51, 0.010),
    ("ACN", "Accenture plc", _T, _N, 350.91, 0.014),
    ("CSCO", "Cisco Systems, Inc.", _T, _Q, 50.52, 0.012),
    ("ABT", "Abbott Laboratories", _H, _N, 110.07, 0.012),
    ("WFC", "Wells Fargo & Company", _F, _N, 49.22, 0.016),
    ("DIS", "The Walt Disney Company", _C, _N, 90.29, 0.015),
    ("INTC", "Intel Corporation", _T, _Q, 50.25, 0.022),
    ("TXN", "Texas Instruments Incorporated", _T, _Q, 170.46, 0.015),
    ("QCOM", "QUALCOMM Incorporated", _T, _Q, 144.63, 0.020),
    ("INTU", "Intuit Inc.", _T, _Q, 625.03, 0.018),
    ("AMAT", "Applied Materials, Inc.", _T, _Q, 162.07, 0.024),
    ("IBM", "International Business Machines Corporation", _T, _N, 163.55, 0.012),
    ("CAT", "Caterpillar Inc.", _I, _N, 295.67, 0.016),
    ("VZ", "Verizon Communications Inc.", _C, _N, 37.70, 0.012),
    ("T", "AT&T Inc.", _C, _N, 16.78, 0.013),
    ("CMCSA", "Comcast Corporation", _C, _Q, 43.85, 0.014),
    ("PFE", "Pfizer Inc.", _H, _N, 28.79, 0.015),
    ("AMGN", "Amgen Inc.", _H, _Q, 288.02, 0.013),
    ("NKE", "NIKE, Inc.", _D, _N, 108.57, 0.017),
    ("UBER", "Uber Technologies, Inc.", _I, _N, 61.57, 0.025),
    ("NOW", "ServiceNow, Inc.", _T, _N, 706.49, 0.018),
    ("GS", "The Goldman Sachs Group, Inc.", _F, _N, 385.77, 0.014),
    ("MS", "Morgan Stanley", _F, _N, 93.25, 0.015),
    ("UNP", "Union Pacific Corporation", _I, _N, 245.62, 0.012),
    ("HON", "Honeywell International Inc.", _I, _Q, 209.71, 0.011),
    ("PM", "Philip Morris International Inc.", _S, _N, 94.08, 0.011),
    ("LOW", "Lowe's Companies, Inc.", _D, _N, 222.55, 0.014),
    ("BA", "The Boeing Company", _I, _N, 260.66, 0.020),
    ("SBUX", "Starbucks Corporation", _D, _Q, 96.01, 0.016),
    ("RTX", "RTX Corporation", _I, _N, 84.14, 0.013),
    ("SPGI", "S&P Global Inc.", _F, _N, 440.52, 0.012),
    ("BLK", "BlackRock, Inc.", _F, _N, 811.80, 0.013),
    ("ISRG", "Intuitive Surgical, Inc.", _H, _Q, 337.36, 0.017),
    ("BKNG", "Booking Holdings Inc.", _D, _Q, 3547.22, 0.016),
    ("GILD", "Gilead Sciences, Inc.", _H, _Q, 81.01, 0.013),
    ("MDT", "Medtronic plc", _H, _N, 82.38, 0.012),
    ("LMT", "Lockheed Martin Corporation", _I, _N, 453.24, 0.011),
    ("DE", "Deere & Company", _I, _N, 399.87, 0.015),
    ("ADP", "Automatic Data Processing, Inc.", _I, _Q, 232.97, 0.011),
    ("C", "Citigroup Inc.", _F, _N, 51.44, 0.017),
    ("SCHW", "The Charles Schwab Corporation", _F, _N, 68.80, 0.020),
    ("MU", "Micron Technology, Inc.", _T, _Q, 85.34, 0.025),
    ("PYPL", "PayPal Holdings, Inc.", _F, _Q, 61.41, 0.022),
    ("NEE", "NextEra Energy, Inc.", _U, _N, 60.74, 0.016),
    ("DUK", "Duke Energy Corporation", _U, _N, 97.04, 0.010),
    ("SO", "The Southern Company", _U, _N, 70.12, 0.010),
    ("AMT", "American Tower Corporation", _R, _N, 215.88, 0.016),
    ("PLD", "Prologis, Inc.", _R, _N, 133.30, 0.016),
    ("EQIX", "Equinix, Inc.", _R, _Q, 805.39, 0.014),
    ("COP", "ConocoPhillips", _E, _N, 116.07, 0.017),
    ("SLB", "Schlumberger Limited", _E, _N, 52.04, 0.019),
    ("SHW", "The Sherwin-Williams Company", _M, _N, 311.90, 0.013),
    ("FCX", "Freeport-McMoRan Inc.", _M, _N, 42.57, 0.022),
    ("UPS", "United Parcel Service, Inc.", _I, _N, 157.23, 0.013),
    ("F", "Ford Motor Company", _D, _N, 12.19, 0.020),
    ("GM", "General Motors Company", _D, _N, 35.92, 0.019),
    ("PLTR", "Palantir Technologies Inc.", _T, _N, 17.17, 0.035),
    ("COIN", "Coinbase Global, Inc.", _F, _Q, 173.92, 0.040),
    ("VOO", "Vanguard S&P 500 ETF", FUND_SECTOR, _A, 436.80, 0.008),
    ("XLK", "Technology Select Sector SPDR Fund", FUND_SECTOR, _A, 192.48, 0.012),
    ("XLF", "Financial Select Sector SPDR Fund", FUND_SECTOR, _A, 37.60, 0.010),
    ("XLE", "Energy Select Sector SPDR Fund", FUND_SECTOR, _A, 83.84, 0.013),
    ("XLV", "Health Care Select Sector SPDR Fund", FUND_SECTOR, _A, 136.36, 0.008),
    ("GLD", "SPDR Gold Shares", FUND_SECTOR, _A, 191.17, 0.008),
    ("TLT", "iShares 20+ Year Treasury Bond ETF", FUND_SECTOR, _Q, 98.88, 0.011),
)
#: Real names take the mean-reverting regime, the one whose daily path stays near its base
#: price: the others are random walks from the path's start in 1990, so by 2024 a name could
#: trade at a twentieth or forty times its base, far from the price a trader knows.
REAL_REGIME = "mean_revert"
#: That regime's close-to-close moves are about twice its ``daily_vol`` (an AR(1) level driven
#: by twice the daily shocks), so a real name's ``daily_vol`` is its table figure over this.
_MEAN_REVERT_VOL_GAIN = 2.0
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


def symbol_field(value: str) -> str:
    """Return ``normalize_symbol(value)`` for a pydantic validator (a ValueError on failure)."""
    try:
        return normalize_symbol(value)
    except ValidationError as exc:  # pydantic reports a ValueError under the field's name
        raise ValueError(f"{exc.message}; a symbol is a ticker such as AAPL or BRK.B "
                         "(^[A-Z][A-Z0-9.]{0,9}$) or a crypto pair such as BTC/USD") from None


#: A request's symbol (query parameter or body field): upper-cased, then checked against the
#: grammar Alpaca's symbols follow: a ticker (``^[A-Z][A-Z0-9.]{0,9}$``, class shares such as
#: BRK.B included) or a crypto pair (``^[A-Z0-9]{2,10}/(USD|USDT|USDC|BTC|EUR)$``); anything
#: else is a 400 naming the field.
SymbolStr = Annotated[str, AfterValidator(symbol_field)]


def classify(symbol: str) -> AssetClass:
    """Return the asset class of ``symbol``: a pair with a slash is crypto, else equity."""
    return AssetClass.CRYPTO if "/" in normalize_symbol(symbol) else AssetClass.EQUITY


def _ticker(rng: np.random.Generator, taken: set[str]) -> str:
    letters = np.array(list("ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
    while True:
        n = int(rng.choice([2, 3, 3, 4, 4, 4]))
        t = "".join(rng.choice(letters, n))
        if t not in taken:
            taken.add(t)
            return t


def real_symbols(size: int | None = None) -> tuple[SymbolInfo, ...]:
    """Return the first ``size`` real names (all when None), largest first."""
    rows = REAL_SYMBOLS if size is None else REAL_SYMBOLS[:max(size, 0)]
    return tuple(SymbolInfo(t, name, sector, "equity", exchange, REAL_REGIME, price,
                            round(vol / _MEAN_REVERT_VOL_GAIN, 5))
                 for t, name, sector, exchange, price, vol in rows)


def _synthetic(seed: int, count: int, skip: frozenset[str]) -> list[SymbolInfo]:
    """Return ``count`` made-up equities, leaving out those whose ticker is in ``skip``.

    A left-out name still takes its draws, so every name kept is the one the same seed has
    always given at its place in the stream.
    """
    rng = np.random.default_rng([seed, 7919])
    taken: set[str] = set()
    out: list[SymbolInfo] = []
    while len(out) < count:
        t = _ticker(rng, taken)
        sector = SECTORS[int(rng.integers(len(SECTORS)))]
        name = (f"{_STEMS[int(rng.integers(len(_STEMS)))]} {_SECTOR_WORD[sector]} "
                f"{_SUFFIX[int(rng.integers(len(_SUFFIX)))]}")
        regime = REGIMES[int(rng.choice(4, p=[0.3, 0.3, 0.15, 0.25]))]
        price = float(np.round(np.exp(rng.uniform(np.log(5), np.log(600))), 2))
        vol = float(rng.uniform(0.01, 0.035))
        info = SymbolInfo(t, name, sector, "equity", "NYSE" if rng.random() < 0.4 else "NASDAQ",
                          regime, price, vol, shortable=bool(rng.random() < 0.9),
                          fractionable=bool(rng.random() < 0.8))
        if t not in skip:
            out.append(info)
    return out


@lru_cache(maxsize=8)
def build_universe(seed: int, size: int = 500,
                   crypto: tuple[str, ...] = DEFAULT_CRYPTO) -> tuple[SymbolInfo, ...]:
    """Return ``size`` equities (sorted by ticker) followed by the crypto pairs.

    The real names come first (the largest ``size`` of them when there are fewer places than
    names); made-up tickers from ``seed`` fill the rest.
    """
    real = real_symbols(size)
    out = [*real, *_synthetic(seed, size - len(real), frozenset(s.symbol for s in real))]
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
