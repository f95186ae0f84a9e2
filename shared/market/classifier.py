"""Which kind of instrument a symbol names: an equity, an ETF, a crypto pair or an FX pair.

Provider routing (``market.routes``) goes by this class.  The rules, in order:

- a pair written with a separator (``BTC/USD``, ``BTC-USD``, ``EUR/USD``) or in Yahoo's FX
  form (``EURUSD=X``) is FX when both sides are ISO 4217 fiat codes (a fixed list below), else
  crypto when its quote is a fiat or crypto quote currency;
- a six-letter run of two fiat codes (``EURUSD``) is FX;
- a run ending in a crypto quote (``BTCUSDT``, ``ETHBTC``) or a known coin followed by a fiat
  quote (``BTCUSD``) is crypto: exchanges such as Binance write pairs without a separator;
- a ticker the built-in universe lists as a fund (its ETF sector), or that the settings name
  (``market.etf_symbols``), is an ETF;
- anything else is an equity (``BRK-B``/``BRK.B`` class shares included).

Pure: no I/O; the answers are memoised per classifier.
"""
from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from enum import StrEnum

from shared.errors import ValidationError
from shared.market.symbols import FUND_SECTOR, REAL_SYMBOLS


class SymbolClass(StrEnum):
    EQUITY = "equity"
    ETF = "etf"
    CRYPTO = "crypto"
    FX = "fx"


#: ISO 4217 codes of the fiat currencies a pair may be quoted in (the traded ones; a code not
#: here makes a pair crypto, never FX).
FIAT = frozenset({
    "USD", "EUR", "JPY", "GBP", "CHF", "CAD", "AUD", "NZD", "SEK", "NOK", "DKK", "PLN", "CZK",
    "HUF", "TRY", "ZAR", "MXN", "BRL", "CLP", "COP", "PEN", "ARS", "CNY", "CNH", "HKD", "SGD",
    "KRW", "TWD", "INR", "IDR", "MYR", "THB", "PHP", "ILS", "SAR", "AED", "RUB", "ISK", "RON",
})
#: Quote currencies of crypto pairs that are not fiat (stable coins and the big coins).
CRYPTO_QUOTES = frozenset({"USDT", "USDC", "BUSD", "FDUSD", "TUSD", "DAI", "BTC", "ETH", "BNB"})
#: Coins recognised before a fiat quote without a separator (``BTCUSD``): a run such as
#: ``ABCUSD`` is otherwise read as an equity ticker.
KNOWN_COINS = frozenset({
    "BTC", "ETH", "SOL", "LTC", "XRP", "DOGE", "ADA", "DOT", "AVAX", "LINK", "BCH", "MATIC",
    "UNI", "ATOM", "XLM", "ETC", "TRX", "SHIB", "BNB", "AAVE", "NEAR", "FIL", "ALGO", "XTZ",
    "USDT", "USDC",
})
#: The built-in universe's funds (SPY, QQQ, IWM, ...): its ETF sector says so.
UNIVERSE_ETFS = frozenset(row[0] for row in REAL_SYMBOLS if row[2] == FUND_SECTOR)

_PAIR = re.compile(r"^([A-Z0-9]{2,10})[/\-]([A-Z0-9]{2,6})$")
_YAHOO_FX = re.compile(r"^([A-Z]{3})([A-Z]{3})=X$")
_RUN = re.compile(r"^[A-Z0-9]{4,16}$")
_QUOTES_BY_LENGTH = sorted(CRYPTO_QUOTES | FIAT, key=len, reverse=True)


@dataclass(frozen=True)
class Classified:
    """A symbol's class; pairs also carry base and quote (``symbol`` is ``BASE/QUOTE``)."""

    symbol: str
    asset_class: SymbolClass
    base: str | None = None
    quote: str | None = None

    def to_dict(self) -> dict[str, str | None]:
        return {"symbol": self.symbol, "asset_class": self.asset_class.value,
                "base": self.base, "quote": self.quote}


class SymbolClassifier:
    """Classify symbols with a given list of ETFs beside the universe's own."""

    def __init__(self, etfs: Iterable[str] = ()) -> None:
        self.etfs = UNIVERSE_ETFS | {e.strip().upper() for e in etfs}
        self._memo: dict[str, Classified] = {}

    def __call__(self, symbol: str) -> Classified:
        """Return the class of ``symbol``.

        Raises:
            ValidationError: an empty or non-string symbol.
        """
        hit = self._memo.get(symbol) if isinstance(symbol, str) else None
        if hit is None:
            hit = self._classify(symbol)
            if len(self._memo) < 100_000:  # bounded: any string may come from a request
                self._memo[symbol] = hit
        return hit

    def _classify(self, symbol: str) -> Classified:
        if not isinstance(symbol, str) or not symbol.strip():
            raise ValidationError(f"symbol must be a non-empty string, was {symbol!r}",
                                  field="symbol")
        s = symbol.strip().upper()
        m = _YAHOO_FX.match(s)
        if m and m.group(1) in FIAT and m.group(2) in FIAT:
            return _pair(m.group(1), m.group(2))
        m = _PAIR.match(s)
        if m and (m.group(2) in FIAT or m.group(2) in CRYPTO_QUOTES):
            return _pair(m.group(1), m.group(2))
        if _RUN.match(s):
            split = _split_run(s)
            if split is not None:
                return _pair(*split)
        ticker = s.replace("-", ".")
        if ticker in self.etfs or s in self.etfs:
            return Classified(ticker, SymbolClass.ETF)
        return Classified(ticker, SymbolClass.EQUITY)


def _pair(base: str, quote: str) -> Classified:
    fx = base in FIAT and quote in FIAT
    return Classified(f"{base}/{quote}", SymbolClass.FX if fx else SymbolClass.CRYPTO,
                      base, quote)


def _split_run(s: str) -> tuple[str, str] | None:
    """Return (base, quote) of a pair written without a separator, or None (a ticker)."""
    if len(s) == 6 and s[:3] in FIAT and s[3:] in FIAT:
        return s[:3], s[3:]
    for quote in _QUOTES_BY_LENGTH:
        base = s[:-len(quote)]
        if not s.endswith(quote) or len(base) < 2:
            continue
        if quote in CRYPTO_QUOTES or base in KNOWN_COINS:
            return base, quote
    return None


_default = SymbolClassifier()


def classify_symbol(symbol: str, etfs: Iterable[str] | None = None) -> Classified:
    """Return the class of ``symbol`` (with ``etfs`` beside the universe's funds).

    Raises:
        ValidationError: an empty or non-string symbol.
    """
    return _default(symbol) if not etfs else SymbolClassifier(etfs)(symbol)


__all__ = ["CRYPTO_QUOTES", "FIAT", "KNOWN_COINS", "UNIVERSE_ETFS", "Classified",
           "SymbolClass", "SymbolClassifier", "classify_symbol"]
