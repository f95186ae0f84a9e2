"""Yahoo's chart and quoteSummary answers read into the suite's frames and fundamentals."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import NotFound, ValidationError
from tests.shared.market.sources.fakes import DAYS, price, session_bars, volume


@pytest.fixture
def yahoo(make):
    return make("yahoo")


def test_minute_bars_keep_regular_hours_from_epoch_seconds(yahoo):
    p, fake = yahoo
    df = p.fetch_bars("AAPL", "5m", "2024-03-05T00:00Z", "2024-03-06T00:00Z")
    assert str(df.index.tz) == "UTC" and df.index.name == "ts"
    bars = session_bars(5)
    i0, t0 = bars[0]
    assert df.index[0] == t0 == pd.Timestamp("2024-03-05T14:30Z")
    assert df.iloc[0][["open", "high", "low", "close"]].tolist() == [
        float(price(i0, k)) for k in ("open", "high", "low", "close")]
    assert df["volume"].iloc[0] == volume(i0)
    # Yahoo's last bar is all nulls (no trade): left out
    i_last, t_last = bars[-2]
    assert df.index[-1] == t_last and df["close"].iloc[-1] == float(price(i_last, "close"))
    assert len(df) == len(bars) - 1 and df.attrs["extended_hours"] == 6
    assert df.attrs["source"] == "yahoo" and df["volume"].dtype == "int64"
    assert "interval=5m" in fake.calls[0] and "includePrePost=false" in fake.calls[0]


def test_hour_bars_are_built_from_quarter_hours(yahoo):
    p, fake = yahoo
    df = p.fetch_bars("AAPL", "1h", "2024-03-05", "2024-03-06")
    assert "interval=15m" in fake.calls[0]
    # the 09:00 New York hour bar holds 09:30-10:00: quarter-hour bars 2 and 3
    assert df.index[0] == pd.Timestamp("2024-03-05T14:00Z")
    first = df.iloc[0]
    assert (first["open"], first["high"], first["close"]) == (
        float(price(2, "open")), float(price(3, "high")), float(price(3, "close")))
    assert first["volume"] == volume(2) + volume(3)
    assert df.index[-1] == pd.Timestamp("2024-03-05T20:00Z")


def test_daily_bars_are_stamped_at_new_york_midnight(yahoo):
    p, _ = yahoo
    df = p.fetch_bars("AAPL", "1d", "2024-03-01", "2024-03-08")
    assert list(df.index) == [pd.Timestamp(f"{d}T05:00Z") for d in DAYS]
    assert df["close"].tolist() == [float(price(i, "close")) for i in range(3)]


def test_crypto_keeps_utc_hours(yahoo):
    p, fake = yahoo
    df = p.fetch_bars("BTC/USD", "1h", "2024-03-05T22:00Z", "2024-03-06T04:00Z")
    assert "/chart/BTC-USD" in fake.calls[0] and "interval=60m" in fake.calls[0]
    assert list(df.index) == list(pd.date_range("2024-03-05T23:00Z", periods=3, freq="1h"))
    assert df["open"].iloc[2] == float(price(2, "open"))  # the fourth is null: left out


def test_unprocessable_range_is_a_validation_error(yahoo):
    p, fake = yahoo
    fake.force("error")
    with pytest.raises(ValidationError, match="8 days"):
        p.fetch_bars("AAPL", "1m", "2024-01-01", "2024-03-05")
    assert len(fake.calls) == 1  # not retried


def test_fundamentals_are_exact_decimal_strings(yahoo):
    p, _ = yahoo
    f = p.fetch_fundamentals("AAPL")
    assert f == {"symbol": "AAPL", "source": "yahoo", "name": "Apple Inc.",
                 "exchange": "NasdaqGS", "currency": "USD", "sector": "Technology",
                 "industry": "Consumer Electronics", "market_cap": "2627985195008",
                 "shares_outstanding": "15441899520", "float_shares": "15422598963",
                 "pe_ratio": "26.48387", "eps": "6.43", "dividend_yield": "0.0057",
                 "beta": "1.287", "next_earnings_date": "2024-05-02",
                 "last_earnings_date": None}
    with pytest.raises(NotFound):
        p.fetch_fundamentals("NOPE")
    assert p.fetch_fundamentals("EMPT")["name"] == "Empty Co"


def test_crypto_daily_bars_open_at_utc_midnight_through_the_weekend(yahoo):
    p, _ = yahoo
    df = p.fetch_bars("BTC/USD", "1d", "2024-03-02", "2024-03-06")
    assert list(df.index) == list(pd.date_range("2024-03-02", periods=4, freq="D", tz="UTC"))
    assert df["close"].iloc[1] == float(price(1, "close"))  # a Sunday
