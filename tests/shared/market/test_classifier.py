"""The symbol classifier: equity, ETF, crypto pair or FX pair, by a table of cases."""
from __future__ import annotations

import pytest

from shared.errors import ValidationError
from shared.market.classifier import SymbolClassifier, classify_symbol

CASES = [
    # (raw symbol, class, canonical symbol)
    ("AAPL", "equity", "AAPL"),
    ("aapl", "equity", "AAPL"),
    ("BRK.B", "equity", "BRK.B"),
    ("BRK-B", "equity", "BRK.B"),       # Yahoo's class-share form is not a pair
    ("ABNB", "equity", "ABNB"),         # ends in BNB, but one letter is no coin
    ("C", "equity", "C"),
    ("ZZZ", "equity", "ZZZ"),
    ("ABCUSD", "equity", "ABCUSD"),     # not a known coin before a fiat quote
    ("SPY", "etf", "SPY"),              # the universe's own funds
    ("QQQ", "etf", "QQQ"),
    ("GLD", "etf", "GLD"),
    ("TLT", "etf", "TLT"),
    ("BTC/USD", "crypto", "BTC/USD"),
    ("btc-usd", "crypto", "BTC/USD"),   # Yahoo's crypto form
    ("BTCUSDT", "crypto", "BTC/USDT"),  # Binance's form
    ("ETHBTC", "crypto", "ETH/BTC"),
    ("BTCUSD", "crypto", "BTC/USD"),
    ("SOL/USDC", "crypto", "SOL/USDC"),
    ("USDT/USD", "crypto", "USDT/USD"),  # a stable coin is not a currency
    ("DOGE/EUR", "crypto", "DOGE/EUR"),
    ("EUR/USD", "fx", "EUR/USD"),
    ("EURUSD=X", "fx", "EUR/USD"),      # Yahoo's FX form
    ("eurusd", "fx", "EUR/USD"),
    ("USDJPY", "fx", "USD/JPY"),
    ("GBP-CHF", "fx", "GBP/CHF"),
]


@pytest.mark.parametrize(("raw", "cls", "canonical"), CASES)
def test_classify(raw: str, cls: str, canonical: str) -> None:
    got = classify_symbol(raw)
    assert (got.asset_class.value, got.symbol) == (cls, canonical)


def test_pairs_carry_base_and_quote() -> None:
    assert classify_symbol("BTCUSDT").to_dict() == {
        "symbol": "BTC/USDT", "asset_class": "crypto", "base": "BTC", "quote": "USDT"}
    assert (classify_symbol("EURUSD=X").base, classify_symbol("EURUSD=X").quote) == ("EUR", "USD")
    assert classify_symbol("AAPL").base is None


def test_etfs_from_the_settings_list() -> None:
    c = SymbolClassifier(["vti", "ARKK"])
    assert c("VTI").asset_class == "etf" and c("arkk").asset_class == "etf"
    assert c("SPY").asset_class == "etf"  # the universe's funds stay
    assert classify_symbol("VTI").asset_class == "equity"  # unknown without the list
    assert classify_symbol("VTI", ["VTI"]).asset_class == "etf"


@pytest.mark.parametrize("bad", ["", "   ", None, 5])
def test_bad_symbols_are_refused(bad: object) -> None:
    with pytest.raises(ValidationError) as exc:
        classify_symbol(bad)  # type: ignore[arg-type]
    assert exc.value.field == "symbol"
