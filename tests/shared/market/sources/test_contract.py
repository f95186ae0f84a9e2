"""What every provider client promises (the contract others code against): its attributes,
the error mapping, one retry after a 429, bounded retries on 5xx, the limiter's budget, and
``build`` returning None without the key."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.errors import NotFound, RateLimited, UpstreamUnavailable, ValidationError
from shared.market.sources import FUNDAMENTAL_KEYS, PROVIDERS, build
from shared.market.sources.http import RateBudget
from shared.market.sources.registry import KEY_ENV
from tests.shared.market.sources.conftest import FAST

#: A symbol with bars, and a range holding some, per provider.
CASES = {
    "yahoo": ("AAPL", "2024-03-05", "2024-03-06"),
    "binance": ("BTC/USDT", "2024-03-02", "2024-03-03"),
    "alphavantage": ("AAPL", "2024-03-05", "2024-03-06"),
    "polygon": ("AAPL", "2024-03-05", "2024-03-06"),
    "tiingo": ("AAPL", "2024-03-05", "2024-03-06"),
    "fmp": ("AAPL", "2024-03-05", "2024-03-06"),
}
NAMES = list(CASES)
FUNDAMENTALS = {"fmp", "yahoo", "alphavantage", "polygon"}


def _fetch(p, name, symbol=None):
    sym, s, e = CASES[name]
    return p.fetch_bars(symbol or sym, "5m", s, e)


def test_registry_names_every_provider():
    assert set(PROVIDERS) == set(CASES)


@pytest.mark.parametrize("name", NAMES)
def test_contract_attributes(make, name):
    p, _ = make(name)
    assert p.name == name
    assert p.asset_classes and p.asset_classes <= {"equity", "etf", "crypto", "fx"}
    assert p.timeframes == {"1m", "5m", "15m", "1h", "1d"}
    assert hasattr(p, "fetch_fundamentals") == (name in FUNDAMENTALS)
    b = p.budget()
    assert set(b) == {"limit", "period_s", "remaining", "next_slot_s"}
    assert b["remaining"] == b["limit"] > 0 and b["next_slot_s"] == 0
    assert p.health()["provider"] == name and p.health()["ok"] is True


@pytest.mark.parametrize("name", NAMES)
def test_normal_answer_uses_the_budget(make, name):
    p, fake = make(name)
    df = _fetch(p, name)
    assert len(df) > 0 and str(df.index.tz) == "UTC" and df.index.is_monotonic_increasing
    assert list(df.columns) == ["open", "high", "low", "close", "volume", "vwap", "trade_count"]
    assert (df["high"] >= df["low"]).all() and df.attrs["source"] == name
    b = p.budget()
    spent = b["limit"] - b["remaining"]
    # Binance's limit counts request weight: exchangeInfo 20, a klines page 2
    assert spent == (22 if name == "binance" else len(fake.calls))
    _fetch(p, name)
    assert p.budget()["remaining"] < b["remaining"]


@pytest.mark.parametrize("name", NAMES)
def test_one_429_is_retried_then_succeeds(make, name):
    p, fake = make(name)
    expected = _fetch(p, name)
    fake.calls.clear()
    fake.force("429")
    df = _fetch(p, name)
    pd.testing.assert_frame_equal(df, expected)
    assert len(fake.calls) == 2  # the refused one and its retry
    # one backoff wait, never a provider's Retry-After (Polygon's says an hour)
    assert len(p.http.sleep) == 1 and p.http.sleep[0] <= FAST.backoff_max_s


@pytest.mark.parametrize("name", NAMES)
def test_rate_limit_that_persists_is_rate_limited(make, name):
    p, fake = make(name)
    fake.force("429", "429", "429", "429")
    with pytest.raises(RateLimited) as info:
        _fetch(p, name)
    assert info.value.retryable and info.value.code == "rate_limited"
    assert len(fake.calls) == 3  # the first try and two retries, no more


@pytest.mark.parametrize("name", NAMES)
def test_server_errors_are_upstream_unavailable_after_bounded_retries(make, name):
    p, fake = make(name)
    fake.force("500", "500", "500", "500")
    with pytest.raises(UpstreamUnavailable) as info:
        _fetch(p, name)
    assert info.value.retryable and info.value.code == "upstream_unavailable"
    assert len(fake.calls) == 3
    assert "UpstreamUnavailable" in p.health()["last_error"] and not p.health()["ok"]
    assert len(_fetch(p, name)) > 0  # and the next call goes through
    assert p.health()["ok"] and p.health()["last_error"] is None


@pytest.mark.parametrize("name", NAMES)
def test_unknown_symbol_and_empty_answers(make, name):
    p, _ = make(name)
    pair = name == "binance"
    if name in ("polygon", "fmp"):  # unknown tickers' bars are just empty there: the
        with pytest.raises(NotFound):  # details/profile say it is unknown
            p.fetch_fundamentals("NOPE")
    else:
        with pytest.raises(NotFound):
            _fetch(p, name, "NOPE/USDT" if pair else "NOPE")
    empty = _fetch(p, name, "EMPT/USDT" if pair else "EMPT")
    assert empty.empty and str(empty.index.tz) == "UTC" and empty["volume"].dtype == "int64"


@pytest.mark.parametrize("name", NAMES)
def test_bad_arguments_are_validation_errors_without_a_request(make, name):
    p, fake = make(name)
    sym, s, e = CASES[name]
    with pytest.raises(ValidationError):
        p.fetch_bars(sym, "2h", s, e)
    with pytest.raises(ValidationError):
        p.fetch_bars("not a symbol!", "5m", s, e)
    with pytest.raises(ValidationError):
        p.fetch_bars(sym, "5m", e, s)
    assert fake.calls == []


@pytest.mark.parametrize("name", NAMES)
def test_used_up_limiter_refuses_without_a_request(make, name):
    p, fake = make(name)
    p.http.limiter = RateBudget(name, 22 if name == "binance" else 1, 3600)  # one fetch
    _fetch(p, name)
    n = len(fake.calls)
    with pytest.raises(RateLimited, match="used up") as info:
        _fetch(p, name)
    assert len(fake.calls) == n and p.health()["ok"] is False
    assert 3500 < info.value.details["retry_after_s"] <= 3600
    assert p.budget()["remaining"] == 0 and p.budget()["next_slot_s"] > 3500


@pytest.mark.parametrize("name", NAMES)
def test_slow_answers_time_out_within_the_bound(make, name):
    p, fake = make(name, timeout_s=0.15)
    fake.force("slow", "slow", "slow", "slow")  # each answers after 0.6 s
    with pytest.raises(UpstreamUnavailable, match="(?i)time"):
        _fetch(p, name)
    assert len(fake.calls) == 3 and len(p.http.sleep) == 2  # three tries, two short waits
    assert max(p.http.sleep) <= FAST.backoff_max_s


def test_retries_stop_at_the_total_bound(make):
    p, fake = make("yahoo", timeout_s=0.15, total_s=0.2, retries=5)
    fake.force("slow", "slow", "slow", "slow", "slow", "slow")
    with pytest.raises(UpstreamUnavailable):
        _fetch(p, "yahoo")
    # each try takes at least its 0.15 s timeout: two at most fit in 0.2 s, not six
    assert 1 <= len(fake.calls) <= 2


@pytest.mark.parametrize("name", NAMES)
def test_unreachable_host_is_upstream_unavailable(calendar, name):
    env = {KEY_ENV[name]: "k"} if KEY_ENV[name] else {}
    env[f"{name.upper()}_BASE_URL"] = "http://127.0.0.1:9"  # discard port: refused
    p = build(name, None, env, options=FAST, calendar=calendar)
    with pytest.raises(UpstreamUnavailable):
        _fetch(p, name)


@pytest.mark.parametrize("name", NAMES)
def test_build_needs_the_key_and_defaults_to_the_real_host(calendar, name):
    var = KEY_ENV[name]
    p = build(name, None, {}, calendar=calendar)
    if var is None:
        assert p is not None and p.http.base_url.startswith("https://")
        return
    assert p is None
    assert build(name, None, {var: "  "}, calendar=calendar) is None
    p = build(name, None, {var: "k"}, calendar=calendar)
    assert p is not None and p.http.base_url.startswith("https://") and p.http.calls == 0


@pytest.mark.parametrize("name", sorted(FUNDAMENTALS))
def test_fundamentals_have_every_key(make, name):
    p, _ = make(name)
    f = p.fetch_fundamentals("AAPL")
    assert set(f) == {"symbol", "source", *FUNDAMENTAL_KEYS}
    assert f["name"] and f["market_cap"] and "." not in f["market_cap"].rstrip("0")[-1:]
    for key in ("market_cap", "shares_outstanding", "float_shares", "pe_ratio", "eps",
                "dividend_yield", "beta"):
        assert f[key] is None or isinstance(f[key], str)


#: Each provider's bars of every timeframe it has, over a range the fake fills.
TIMEFRAME_CASES = [(name, tf) for name in NAMES for tf in ("1m", "5m", "15m", "1h", "1d")
                   if not (name == "fmp" and tf == "1m")]  # FMP: 1m is outside the fake's plan


@pytest.mark.parametrize(("name", "tf"), TIMEFRAME_CASES)
def test_frames_pass_the_suites_validation(make, calendar, name, tf):
    """Every frame is what the market store accepts: aligned stamps, inside sessions."""
    from shared.market.validation import validate_bars

    p, _ = make(name)
    sym, _, _ = CASES[name]
    start, end = (("2024-03-02", "2024-03-09") if name == "binance"
                  else ("2024-03-04", "2024-03-07"))
    df = p.fetch_bars(sym, tf, start, end)
    assert len(df) > 0 and df.attrs["timeframe"] == tf
    report = validate_bars(df, tf, calendar, crypto=name == "binance", symbol=sym)
    assert report.rows_rejected == 0, report.rejects["reason"].tolist()[:5]


def test_budget_of_several_windows_reports_the_binding_one():
    b = RateBudget("tiingo", 3, 3600, also=((2, 86_400),))
    assert b.budget() == {"limit": 2, "period_s": 86_400, "remaining": 2, "next_slot_s": 0.0}
    b.acquire(0)
    b.acquire(0)
    with pytest.raises(RateLimited, match="2 calls per 86400 s"):
        b.acquire(0)
    day = b.budget()
    assert day["remaining"] == 0 and 86_000 < day["next_slot_s"] <= 86_400
    # the refused call took no slot of the hourly window either
    hourly = RateBudget("x", 3, 3600)
    hourly.acquire(0)
    hourly.acquire(0)
    assert b._window(b._items[0]) == hourly.budget()
