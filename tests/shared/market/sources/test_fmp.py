"""Financial Modeling Prep's stable API: fundamentals from four endpoints (plan-restricted
ones left out), daily and intraday bars, its error bodies."""
from __future__ import annotations

from datetime import date

import pandas as pd
import pytest

from shared.errors import AuthError, NotFound
from shared.market.sources.fmp import FmpProvider
from tests.shared.market.sources.conftest import FAST
from tests.shared.market.sources.fakes import DAYS, price, session_bars


@pytest.fixture
def fmp(make):
    return make("fmp")


def test_fundamentals_as_of_a_day(served, calendar):
    fake, url = served["fmp"]
    p = FmpProvider(calendar, api_key="fmp-key", base_url=url, options=FAST,
                    today=lambda: date(2024, 3, 5))
    f = p.fetch_fundamentals("AAPL")
    assert f == {"symbol": "AAPL", "source": "fmp", "name": "Apple Inc.",
                 "exchange": "NASDAQ", "currency": "USD", "sector": "Technology",
                 "industry": "Consumer Electronics", "market_cap": "2627985195008",
                 "shares_outstanding": None, "float_shares": None,  # outside the plan (402)
                 "pe_ratio": "26.4572", "eps": "6.43", "dividend_yield": "0.005629",
                 "beta": "1.287", "next_earnings_date": "2024-05-02",
                 "last_earnings_date": "2024-02-01"}
    assert [c.split("?")[0] for c in fake.calls[-4:]] == [
        "/stable/profile", "/stable/ratios-ttm", "/stable/shares-float", "/stable/earnings"]
    with pytest.raises(NotFound, match="no profile"):
        p.fetch_fundamentals("NOPE")


def test_daily_and_intraday_bars(fmp):
    p, fake = fmp
    d = p.fetch_bars("AAPL", "1d", "2024-03-01", "2024-03-08")
    # 2024-03-01 00:00 UTC is still 2024-02-29 in New York: whole New York days are asked
    assert "from=2024-02-29" in fake.calls[0] and "to=2024-03-07" in fake.calls[0]
    assert list(d.index) == [pd.Timestamp(f"{x}T05:00Z") for x in DAYS]  # sent newest first
    assert d["close"].tolist() == [float(price(i, "close")) for i in range(3)]
    m = p.fetch_bars("AAPL", "5m", "2024-03-05T14:30Z", "2024-03-05T21:00Z")
    bars = session_bars(5)
    assert len(m) == len(bars) and m.index[0] == bars[0][1]
    assert m["open"].iloc[0] == float(price(bars[0][0], "open"))
    assert m["close"].iloc[-1] == float(price(bars[-1][0], "close"))


def test_plans_keys_and_legacy_endpoints(fmp, served, calendar):
    p, fake = fmp
    with pytest.raises(AuthError, match="Restricted Endpoint"):
        p.fetch_bars("AAPL", "1m", "2024-03-05", "2024-03-06")
    fake.force("error")
    with pytest.raises(AuthError, match="Legacy Endpoint"):
        p.fetch_fundamentals("AAPL")
    bad = FmpProvider(calendar, api_key="nope", base_url=served["fmp"][1], options=FAST)
    with pytest.raises(AuthError, match="Invalid API KEY"):
        bad.fetch_bars("AAPL", "1d", "2024-03-01", "2024-03-08")
    assert p.fetch_bars("EMPT", "1d", "2024-03-01", "2024-03-08").empty
