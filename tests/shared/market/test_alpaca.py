"""The Alpaca provider against a local fake of Alpaca's data API (never the internet)."""
from __future__ import annotations

import pandas as pd
import pytest
from flask import Flask, jsonify, request
from pydantic import SecretStr

from shared.errors import RetryableError, ServiceUnavailable
from shared.market.alpaca_provider import AlpacaProvider
from tests.conftest import serve


def _fake() -> Flask:
    app = Flask("fake_alpaca")
    app.config["mode"] = "ok"
    app.config["calls"] = []

    @app.before_request
    def gate():
        app.config["calls"].append(request.full_path)
        if request.headers.get("APCA-API-KEY-ID") != "key":
            return jsonify(code=40110000, message="unauthorized"), 401
        mode = app.config["mode"]
        if mode == "429":
            return jsonify(code=42910000, message="rate limit exceeded"), 429
        if mode == "500":
            return jsonify(code=50010000, message="internal"), 500
        return None

    @app.get("/v2/stocks/bars")
    def bars():
        sym = request.args["symbols"]
        tf = request.args["timeframe"]
        start = pd.Timestamp(request.args["start"])
        if tf == "1Day":
            days = pd.date_range(start.tz_convert(None).normalize(), periods=3, freq="B")
            ts = [d.tz_localize("America/New_York") for d in days]  # Alpaca: midnight NY
        else:  # 15 minutes of pre-market, then the session
            ts = list(pd.date_range("2024-03-05T14:15Z", periods=30, freq="1min"))
        out = [{"t": t.isoformat(), "o": 10.0, "h": 10.5, "l": 9.5, "c": 10.25, "v": 100,
                "n": 3, "vw": 10.1} for t in ts]
        return jsonify(bars={sym: out}, next_page_token=None)

    @app.get("/v2/stocks/trades/latest")
    def trade():
        return jsonify(trades={request.args["symbols"]: {"t": "2024-03-05T15:00:00Z",
                                                         "p": 185.123, "s": 5}})

    @app.get("/v2/stocks/quotes/latest")
    def quote():
        return jsonify(quotes={request.args["symbols"]: {"t": "2024-03-05T15:00:00Z",
                                                         "bp": 184.9, "bs": 1, "ap": 185.1,
                                                         "as": 2}})

    @app.get("/v1beta1/news")
    def news():
        return jsonify(news=[{"id": 1, "headline": "ACME beats", "source": "fake", "url": None,
                              "summary": "", "created_at": "2024-03-05T14:00:00Z",
                              "updated_at": "2024-03-05T14:00:00Z", "symbols": ["ACME"],
                              "author": "a", "content": ""}], next_page_token=None)

    return app


@pytest.fixture
def fake():
    app = _fake()
    with serve(app) as url:
        yield app, url


@pytest.fixture
def provider(fake, calendar):
    _, url = fake
    return AlpacaProvider("key", "secret", calendar, url_override=url, sdk_retries=0)


def test_minute_bars_leave_out_extended_hours(provider):
    df = provider.fetch_bars("ACME", "1m", "2024-03-05T14:00Z", "2024-03-05T15:00Z")
    assert len(df) == 15 and df.index[0] == pd.Timestamp("2024-03-05T14:30Z")
    assert df.attrs["extended_hours"] == 15
    assert df["trade_count"].iloc[0] == 3 and df["vwap"].iloc[0] == 10.1


def test_daily_bars_keep_alpacas_stamp_at_new_york_midnight(provider):
    df = provider.fetch_bars("ACME", "1d", "2024-03-04", "2024-03-08")
    assert list(df.index) == [pd.Timestamp(f"2024-03-0{d}T05:00Z") for d in (4, 5, 6)]


def test_latest_trade_quote_and_news(provider):
    assert provider.latest_trade("ACME")["price"] == 185.123
    q = provider.latest_quote("ACME")
    assert (q["bid"], q["ask"]) == (184.9, 185.1)
    assert provider.news(["ACME"])[0]["headline"] == "ACME beats"


def test_rate_limit_and_server_errors_become_our_errors(fake, provider):
    app, _ = fake
    app.config["mode"] = "429"
    with pytest.raises(RetryableError) as e:
        provider.fetch_bars("ACME", "1m", "2024-03-05T14:00Z", "2024-03-05T15:00Z")
    assert e.value.code == "rate_limited"
    app.config["mode"] = "500"
    with pytest.raises(ServiceUnavailable):
        provider.latest_trade("ACME")


def test_manager_uses_alpaca_then_fails_over(fake, db, market_settings, controller):
    from shared.market import DataManager

    app, url = fake
    s = market_settings.model_copy(update={
        "alpaca": market_settings.alpaca.model_copy(update={
            "api_key": SecretStr("key"), "secret_key": SecretStr("secret"), "data_url": url}),
        "market": market_settings.market.model_copy(update={
            "routes": {"equity": ["alpaca", "simulated"], "crypto": ["simulated"]},
            "alpaca_sdk_retries": 0})})
    dm = DataManager(s, db, clock=controller.clock, owner=True)
    controller.advance("2024-03-05T15:00Z")
    df = dm.get_historical_data("ACME", "1m", start="2024-03-05T14:00Z")
    assert len(df) == 15 and df.attrs["source"] == "alpaca"
    # the open session stays in the database; closed ones go to the file cache (cache_fill)
    assert dm.files.metadata("ACME", "1m", 2024) is None
    app.config["mode"] = "500"
    sym = next(iter(dm.universe))
    assert dm.get_historical_data(sym, "1m", start="2024-03-05").attrs["source"] == "simulated"
    assert dm.get_system_health()["providers"]["alpaca"]["failures"] == 1
    app.config["mode"] = "ok"
    assert dm.get_news(["ACME"])[0]["symbols"] == ["ACME"]
