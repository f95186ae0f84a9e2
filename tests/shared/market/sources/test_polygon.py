"""Polygon's aggregates (epoch-ms bar starts, next_url pages) and ticker details."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import AuthError, NotFound, ValidationError
from shared.market.sources import build
from tests.shared.market.sources.fakes import DAYS, POLYGON_PAGE, intraday, price, session_bars


@pytest.fixture
def polygon(make):
    return make("polygon")


def test_minute_bars_follow_next_url_and_keep_regular_hours(polygon):
    p, fake = polygon
    df = p.fetch_bars("AAPL", "1m", "2024-03-05T00:00Z", "2024-03-06T00:00Z")
    bars = session_bars(1)
    pages = -(-len(intraday(1)) // POLYGON_PAGE)
    assert len(fake.calls) == pages > 1  # every page on our base URL, not Polygon's host
    assert len(df) == len(bars) == 390 and df.attrs["extended_hours"] == 30
    i0, t0 = bars[0]
    assert df.index[0] == t0 and df["open"].iloc[0] == float(price(i0, "open"))
    assert df["vwap"].iloc[0] == float(price(i0, "close")) and df["trade_count"].iloc[0] == 10 + i0
    i9, t9 = bars[-1]
    assert df.index[-1] == t9 == pd.Timestamp("2024-03-05T20:59Z")
    assert df["close"].iloc[-1] == float(price(i9, "close"))
    assert "/range/1/minute/1709596800000/1709683199999" in fake.calls[0]


def test_hour_bars_from_quarter_hours_and_daily_stamps(polygon):
    p, fake = polygon
    h = p.fetch_bars("AAPL", "1h", "2024-03-05", "2024-03-06")
    assert "/range/15/minute/" in fake.calls[0]
    assert h.index[0] == pd.Timestamp("2024-03-05T14:00Z") and len(h) == 7
    d = p.fetch_bars("AAPL", "1d", "2024-03-01", "2024-03-08")
    assert list(d.index) == [pd.Timestamp(f"{x}T05:00Z") for x in DAYS]
    c = p.fetch_bars("BTC/USD", "1h", "2024-03-05T23:00Z", "2024-03-06T01:00Z")
    assert "/X:BTCUSD/range/1/hour/" in fake.calls[-1] and len(c) == 2


def test_unknown_ticker_has_no_bars_but_no_details(polygon):
    p, _ = polygon
    assert p.fetch_bars("NOPE", "5m", "2024-03-05", "2024-03-06").empty
    with pytest.raises(NotFound, match="Ticker not found"):
        p.fetch_fundamentals("NOPE")


def test_bad_request_and_bad_key(polygon, served, calendar):
    p, fake = polygon
    fake.force("error")
    with pytest.raises(ValidationError, match="parse the time"):
        p.fetch_bars("AAPL", "5m", "2024-03-05", "2024-03-06")
    env = {"POLYGON_API_KEY": "wrong", "POLYGON_BASE_URL": served["polygon"][1]}
    with pytest.raises(AuthError, match="Unknown API Key"):
        build("polygon", None, env, calendar=calendar).fetch_bars("AAPL", "5m", "2024-03-05",
                                                                  "2024-03-06")


def test_fundamentals_from_ticker_details(polygon):
    p, _ = polygon
    f = p.fetch_fundamentals("AAPL")
    assert (f["name"], f["exchange"], f["currency"], f["industry"]) == (
        "Apple Inc.", "XNAS", "USD", "ELECTRONIC COMPUTERS")
    assert f["market_cap"] == "2771126040150.32" and f["shares_outstanding"] == "16406400000"
    assert f["sector"] is None and f["pe_ratio"] is None and f["source"] == "polygon"
