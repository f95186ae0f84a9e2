"""Alpha Vantage: naive US/Eastern times across a DST change, its 200-with-a-note rate limit,
the premium-only full daily history, and OVERVIEW/EARNINGS as fundamentals."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import AuthError, NotFound, RateLimited
from tests.shared.market.sources.fakes import DAYS, price, session_bars


@pytest.fixture
def av(make):
    return make("alphavantage")


def test_intraday_naive_eastern_times_become_utc_across_dst(av):
    p, fake = av
    df = p.fetch_bars("AAPL", "5m", "2024-03-05T00:00Z", "2024-03-12T00:00Z")
    call = fake.calls[0]
    assert "function=TIME_SERIES_INTRADAY" in call and "month=2024-03" in call
    assert "extended_hours=false" in call and "interval=5min" in call and len(fake.calls) == 1
    bars = session_bars(5)
    (i0, t0), (i9, t9) = bars[0], bars[-1]
    assert df.index[0] == t0 == pd.Timestamp("2024-03-05T14:30Z")  # 09:30 EST
    assert df.iloc[0]["open"] == float(price(i0, "open"))
    assert df.loc[t9, "close"] == float(price(i9, "close"))
    # 2024-03-11 is on EDT: 09:30 New York is 13:30 UTC
    assert list(df.index[-2:]) == [pd.Timestamp("2024-03-11T13:30Z"),
                                   pd.Timestamp("2024-03-11T13:35Z")]
    assert df["close"].iloc[-1] == float(price(101, "close"))
    assert len(df) == len(bars) + 2


def test_intraday_is_asked_month_by_month(av):
    p, fake = av
    df = p.fetch_bars("AAPL", "15m", "2024-02-20", "2024-03-06")
    assert [c.split("month=")[1][:7] for c in fake.calls] == ["2024-02", "2024-03"]
    assert df.index[0] == pd.Timestamp("2024-03-05T14:30Z")


def test_daily_compact_then_premium_full(av):
    p, fake = av
    df = p.fetch_bars("AAPL", "1d", "2024-03-01", "2024-03-08")
    assert list(df.index) == [pd.Timestamp(f"{d}T05:00Z") for d in DAYS]
    assert df["open"].tolist() == [float(price(i, "open")) for i in range(3)]
    assert "outputsize=compact" in fake.calls[0] and len(fake.calls) == 1
    recent = p.fetch_bars("DEEP", "1d", "2024-02-01", "2024-03-07")
    assert recent.index[-1] == pd.Timestamp("2024-03-06T05:00Z") and len(fake.calls) == 2
    with pytest.raises(AuthError, match="premium"):
        p.fetch_bars("DEEP", "1d", "2023-01-01", "2024-03-07")
    assert "outputsize=full" in fake.calls[-1]


def test_errors_come_as_200_bodies(av):
    p, fake = av
    with pytest.raises(NotFound, match="Invalid API call"):
        p.fetch_bars("NOPE", "5m", "2024-03-05", "2024-03-06")
    assert p.fetch_bars("EMPT", "5m", "2024-03-05", "2024-03-06").empty
    fake.force("note", "note", "note")
    with pytest.raises(RateLimited, match="call frequency"):
        p.fetch_bars("AAPL", "5m", "2024-03-05", "2024-03-06")


def test_fundamentals_from_overview_and_earnings(av):
    p, fake = av
    f = p.fetch_fundamentals("AAPL")
    assert f == {"symbol": "AAPL", "source": "alphavantage", "name": "Apple Inc",
                 "exchange": "NASDAQ", "currency": "USD", "sector": "Technology",
                 "industry": "Electronic Computers", "market_cap": "2629910839000",
                 "shares_outstanding": "15441900000", "float_shares": "15422600000",
                 "pe_ratio": "26.45", "eps": "6.43", "dividend_yield": "0.0056",
                 "beta": "1.29", "next_earnings_date": None,
                 "last_earnings_date": "2024-02-01"}
    assert ["OVERVIEW" in fake.calls[0], "EARNINGS" in fake.calls[1]] == [True, True]
    with pytest.raises(NotFound):
        p.fetch_fundamentals("MSFT")  # Alpha Vantage answers an unknown company with {}
