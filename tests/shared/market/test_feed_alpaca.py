"""The market feed on Alpaca (faked at the HTTP level): the one process that polls it, in
multi-symbol requests, storing what arrives for every universe symbol."""
from __future__ import annotations

import pandas as pd
import pytest
from flask import Flask, jsonify, request
from pydantic import SecretStr

from shared.market import ClockController, DataManager
from shared.market.feed import MarketFeed
from tests.conftest import serve


def _fake() -> Flask:
    app = Flask("fake_alpaca_many")
    app.config["calls"] = []

    @app.get("/v2/stocks/bars")
    def bars():
        syms = request.args["symbols"].split(",")
        tf = request.args["timeframe"]
        start, end = pd.Timestamp(request.args["start"]), pd.Timestamp(request.args["end"])
        app.config["calls"].append((tf, len(syms)))
        step = {"1Min": "1min", "5Min": "5min", "15Min": "15min"}.get(tf)
        if step is None:  # 1Day: Alpaca stamps the session date at midnight New York
            days = pd.bdate_range(start.tz_convert("America/New_York").date(),
                                  end.tz_convert("America/New_York").date())
            ts = [d.tz_localize("America/New_York") for d in days]
        else:
            ts = list(pd.date_range(start.ceil(step), end, freq=step, inclusive="left"))
        out = {s: [{"t": t.isoformat(), "o": 10.0, "h": 10.5, "l": 9.5, "c": 10.25,
                    "v": 100 + i, "n": 3, "vw": 10.1} for t in ts] for i, s in enumerate(syms)}
        return jsonify(bars=out, next_page_token=None)

    return app


@pytest.fixture
def fake():
    app = _fake()
    with serve(app) as url:
        yield app, url


def test_feed_polls_alpaca_for_the_whole_universe_in_few_requests(fake, db, market_settings):
    app, url = fake
    s = market_settings.model_copy(update={
        "alpaca": market_settings.alpaca.model_copy(update={
            "api_key": SecretStr("key"), "secret_key": SecretStr("secret"), "data_url": url}),
        "market": market_settings.market.model_copy(update={
            "routes": {"equity": ["alpaca"], "crypto": ["simulated"]},
            "alpaca_sdk_retries": 0, "crypto_symbols": []})})
    ctl = ClockController(db, s.market.clock)
    ctl.reset()
    ctl.configure(pace="step", replay_start="2024-03-05", replay_end="2024-03-29")
    ctl.advance("2024-03-05T15:00Z")
    dm = DataManager(s, db, clock=ctl.clock, owner=True)
    feed = MarketFeed(dm, s.market.ingest.model_copy(update={"history_days": {}}))
    feed.catch_up()
    equities = feed.equities
    assert len(equities) == 50
    # one request per timeframe and chunk of symbols, not one per symbol
    assert len(app.config["calls"]) <= 10 and max(n for _, n in app.config["calls"]) == 50
    reader = DataManager(s, db, clock=ctl.clock)
    for sym in equities:
        bars = reader.get_bars(sym, "1m", start="2024-03-05T14:30Z")
        assert len(bars) == 30 and bars.source == "alpaca", sym
    daily = reader.get_bars(equities[0], "1d", start="2024-03-01")
    assert [pd.Timestamp(int(t), tz="UTC").tz_convert("America/New_York").date().isoformat()
            for t in daily.ts] == ["2024-03-04"]
    app.config["calls"].clear()
    ctl.step(1)
    feed.catch_up()
    assert [c for c in app.config["calls"] if c[0] == "1Min"] == [("1Min", 50)]
    assert len(reader.get_bars(equities[-1], "1m", start="2024-03-05T14:30Z")) == 31
