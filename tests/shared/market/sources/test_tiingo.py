"""Tiingo's EOD and IEX answers (ISO times with their offset) read into bar frames."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import AuthError, NotFound, ValidationError
from shared.market.sources import build
from tests.shared.market.sources.fakes import DAYS, price, session_bars, volume


@pytest.fixture
def tiingo(make):
    return make("tiingo")


def test_iex_bars_with_offsets_keep_regular_hours(tiingo):
    p, fake = tiingo
    df = p.fetch_bars("AAPL", "15m", "2024-03-05T14:00Z", "2024-03-05T21:00Z")
    call = fake.calls[0]
    assert call.startswith("/iex/aapl/prices?") and "resampleFreq=15min" in call
    assert "startDate=2024-03-05" in call and "endDate=2024-03-05" in call
    bars = session_bars(15)
    assert len(df) == len(bars) == 26 and str(df.index.tz) == "UTC"
    (i0, t0), (i9, t9) = bars[0], bars[-1]
    assert df.index[0] == t0 and df.iloc[0]["open"] == float(price(i0, "open"))
    assert df.index[-1] == t9 and df.iloc[-1]["close"] == float(price(i9, "close"))
    assert df["volume"].iloc[-1] == volume(i9)


def test_daily_prices_are_unadjusted_and_stamped_at_new_york_midnight(tiingo):
    p, fake = tiingo
    df = p.fetch_bars("AAPL", "1d", "2024-03-04T05:00Z", "2024-03-06T05:00Z")
    assert fake.calls[0].startswith("/tiingo/daily/aapl/prices?")
    assert list(df.index) == [pd.Timestamp(f"{d}T05:00Z") for d in DAYS[:2]]
    assert df["close"].tolist() == [float(price(0, "close")), float(price(1, "close"))]


def test_errors(tiingo, served, calendar):
    p, fake = tiingo
    with pytest.raises(NotFound, match="not found"):
        p.fetch_bars("NOPE", "1d", "2024-03-04", "2024-03-06")
    assert p.fetch_bars("EMPT", "5m", "2024-03-04", "2024-03-06").empty
    fake.force("error")
    with pytest.raises(ValidationError, match="resampleFreq"):
        p.fetch_bars("AAPL", "5m", "2024-03-04", "2024-03-06")
    with pytest.raises(ValidationError, match="crypto"):
        p.fetch_bars("BTC/USD", "5m", "2024-03-04", "2024-03-06")
    bad = build("tiingo", None, {"TIINGO_API_KEY": "x", "TIINGO_BASE_URL": served["tiingo"][1]},
                calendar=calendar)
    with pytest.raises(AuthError, match="Invalid token"):
        bad.fetch_bars("AAPL", "5m", "2024-03-04", "2024-03-06")
