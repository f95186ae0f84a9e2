"""Binance through ccxt (its real ``fetch_ohlcv``) against the loopback fake."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import NotFound, ValidationError
from tests.shared.market.sources.fakes import BINANCE_START, binance_kline


@pytest.fixture
def binance(make):
    return make("binance")


def test_minute_klines_over_a_weekend_in_two_pages(binance):
    p, fake = binance
    df = p.fetch_bars("BTC/USD", "1m", "2024-03-02T00:00Z", "2024-03-03T02:00Z")
    assert str(df.index.tz) == "UTC"
    assert len(df) == 1500 and df.index[0] == BINANCE_START  # Saturday 00:00 UTC
    assert df.index[-1] == BINANCE_START + pd.Timedelta(minutes=1499)
    first, last = binance_kline(0, "1m"), binance_kline(1499, "1m")
    assert df.iloc[0][["open", "high", "low", "close"]].tolist() == [float(x) for x in first[1:5]]
    assert df["close"].iloc[-1] == float(last[4])
    assert df["volume"].iloc[0] == 1000  # 1000.25 BTC: the frame's volume is whole units
    klines = [c for c in fake.calls if c.startswith("/api/v3/klines")]
    assert len(klines) == 2 and "symbol=BTCUSDT" in klines[0] and "limit=1000" in klines[0]
    assert [c for c in fake.calls if "exchangeInfo" in c] == ["/api/v3/exchangeInfo?"]


def test_range_is_half_open_and_daily_bars_open_at_utc_midnight(binance):
    p, _ = binance
    df = p.fetch_bars("ETH/USDT", "1d", "2024-03-03", "2024-03-06")
    assert list(df.index) == list(pd.date_range("2024-03-03", "2024-03-05", freq="D", tz="UTC"))
    assert df["open"].iloc[0] == float(binance_kline(1, "1d")[1])


def test_known_pair_without_klines_is_empty(binance):
    p, _ = binance
    df = p.fetch_bars("EMPT/USDT", "1h", "2024-03-02", "2024-03-03")
    assert df.empty and list(df.columns) == ["open", "high", "low", "close", "volume", "vwap",
                                             "trade_count"]


def test_unknown_pair_and_equities(binance):
    p, fake = binance
    with pytest.raises(NotFound):
        p.fetch_bars("NOPE/USDT", "1h", "2024-03-02", "2024-03-03")
    fake.force("error")  # Binance's own {"code": -1121, "msg": "Invalid symbol."}
    with pytest.raises(NotFound, match="Invalid symbol"):
        p.fetch_bars("BTC/USDT", "1h", "2024-03-02", "2024-03-03")
    with pytest.raises(ValidationError, match="crypto"):
        p.fetch_bars("AAPL", "1h", "2024-03-02", "2024-03-03")


def test_listing_the_providers_does_not_load_ccxt():
    """ccxt loads every exchange it knows (~56 MB): only building Binance's client may."""
    import subprocess
    import sys

    code = ("import sys; from shared.market.sources import registry; "
            "assert registry.PROVIDERS['binance'].asset_classes == {'crypto'}; "
            "print('ccxt' in sys.modules)")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=60, check=True)
    assert out.stdout.strip() == "False"
