"""The technical analysis endpoints on a real migrated database and the simulated market."""
from __future__ import annotations

import math

import pytest
import talib

from services.technical_analysis import create_app
from tests.conftest import make_settings, own_market
from tests.services.technical_analysis.helpers import random_walk


@pytest.fixture
def settings(tmp_path):  # type: ignore[no-untyped-def]
    return make_settings(tmp_path, market__universe_size=12, market__crypto_symbols=[])


@pytest.fixture
def client(settings, db):  # type: ignore[no-untyped-def]
    # the market as coordination's owner stores it: what the strategies read
    own_market(settings, db, history_days={"1m": 3, "5m": 6, "15m": 10, "1h": 20, "1d": 80})
    app = create_app(settings)
    return app.test_client()


@pytest.fixture
def symbols(client) -> list[str]:  # type: ignore[no-untyped-def]
    svc = client.application.extensions["service"]
    return [s["symbol"] for s in svc.market.get_symbols("equity")[:3]]


def test_post_indicators_is_stateless_and_matches_talib(client) -> None:  # type: ignore[no-untyped-def]
    d = random_walk(60)
    body = {k: v.tolist() for k, v in d.items()}
    r = client.post("/api/v1/indicators", json={**body, "indicators": ["RSI:7", "BBANDS"]})
    assert r.status_code == 200, r.json
    rsi = r.json["data"]["indicators"]["RSI:7"]["outputs"]["real"]
    want = talib.RSI(d["close"], 7)
    assert rsi[:7] == [None] * 7
    assert all(math.isclose(a, b) for a, b in zip(rsi[7:], want[7:], strict=True))


@pytest.mark.parametrize(("patch", "field"), [
    ({"indicators": ["NOPE"]}, "names"),
    ({"indicators": ["RSI:timeperiod=0"]}, "RSI:timeperiod=0.params"),
    ({"indicators": ["SMA:100"]}, "series"),
    ({"high": [1.0, 2.0]}, "body"),
    ({"close": [1.0, float("nan")] + [1.0] * 58}, "close.1"),
    ({"indicators": []}, "indicators"),
])
def test_post_indicators_400_names_the_problem(client, patch, field) -> None:  # type: ignore[no-untyped-def]
    d = random_walk(60)
    body = {**{k: v.tolist() for k, v in d.items()}, "indicators": ["SMA:5"], **patch}
    r = client.post("/api/v1/indicators", json=body)
    assert r.status_code == 400, r.json
    assert r.json["error"]["details"]["field"] == field


def test_symbol_indicators_aligned_with_nulls(client, symbols) -> None:  # type: ignore[no-untyped-def]
    r = client.get(f"/api/v1/indicators/{symbols[0]}?timeframe=5m,15m&names=SMA:20,VWAP")
    assert r.status_code == 200, r.json
    tfs = r.json["data"]["timeframes"]
    assert set(tfs) == {"5m", "15m"}
    five = tfs["5m"]
    sma = five["indicators"]["SMA:20"]["outputs"]["real"]
    assert len(sma) == len(five["timestamps"]) and sma[0] is None and sma[-1] is not None
    assert client.get(f"/api/v1/indicators/{symbols[0]}?names=FOO").status_code == 400
    assert client.get(f"/api/v1/indicators/{symbols[0]}?timeframe=7m").status_code == 400


def test_analyze_batch_stores_signals_once_per_bar(client, symbols, db) -> None:  # type: ignore[no-untyped-def]
    r = client.post("/api/v1/analyze", json={"symbols": [*symbols, "BAD!"]})
    assert r.status_code == 200, r.json
    res = r.json["data"]["results"]
    assert "error" in res["BAD!"]
    for s in symbols:
        assert len(res[s]["signals"]) == 8
        assert -1 <= res[s]["combined"]["score"] <= 1
        assert res[s]["indicators"]["RSI:14"]["real"] is not None
    n = db.fetch_one("SELECT COUNT(*) AS n FROM signals")["n"]
    assert n == r.json["data"]["stored_signals"] >= len(symbols)  # one combined row each
    again = client.post("/api/v1/analyze", json={"symbols": symbols})
    assert again.json["data"]["stored_signals"] == 0  # same bar: nothing new
    got = client.get(f"/api/v1/signals/{symbols[0]}?strategy=combined")
    assert got.status_code == 200
    assert [s["strategy"] for s in got.json["data"]["signals"]] == ["combined"]


def test_analyze_validates_body(client) -> None:  # type: ignore[no-untyped-def]
    assert client.post("/api/v1/analyze", json={"symbols": []}).status_code == 400
    r = client.post("/api/v1/analyze", json={"symbols": ["AAPL"], "indicators": ["XYZ"]})
    assert r.status_code == 400 and "XYZ" in r.json["error"]["message"]


def test_catalogue_lists_every_function(client) -> None:  # type: ignore[no-untyped-def]
    data = client.get("/api/v1/indicators").json["data"]
    names = {i["name"] for i in data["indicators"]}
    assert {"SMA", "MAMA", "HT_SINE", "VWAP", "RVOL"} <= names and data["count"] == len(names)
