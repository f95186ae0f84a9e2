"""The HTTP API of the pattern recognition service (Flask test client, real SQLite)."""
from __future__ import annotations

import pandas as pd
import pytest

from services.pattern_recognition import create_app
from services.pattern_recognition.feed import FrameFeed, MarketFeed
from shared.market import DataManager
from tests.services.pattern_recognition.factories import session_frame

NOW = pd.Timestamp("2024-03-07T21:00:00Z")


@pytest.fixture
def client(settings, db):
    app = create_app(settings)
    feed = FrameFeed({("ABC", "5m"): session_frame(["2024-03-05", "2024-03-06", "2024-03-07"]),
                      ("XYZ", "5m"): session_frame(["2024-03-06", "2024-03-07"], seed=4)},
                     now=NOW)
    app.extensions["service"].feed = feed
    return app.test_client()


def test_detections_endpoint(client):
    r = client.get("/api/v1/candlesticks/abc?timeframe=5m&start=2024-03-06T00:00:00Z"
                   "&end=2024-03-07T00:00:00Z")
    assert r.status_code == 200, r.json
    data = r.json["data"]
    assert data["symbol"] == "ABC" and data["count"] == len(data["detections"]) > 0
    d = data["detections"][0]
    assert d["ts"] >= "2024-03-06" and data["detections"][-1]["ts"] < "2024-03-07"
    assert d["bias"] in ("bullish", "bearish") and d["strength"] in (1.0, 2.0)
    assert isinstance(d["close"], str)
    only = client.get("/api/v1/candlesticks/ABC?timeframe=5m&pattern=CDLDOJI").json["data"]
    assert {x["pattern"] for x in only["detections"]} == {"CDLDOJI"}


def test_scan_then_stats(client):
    r = client.post("/api/v1/candlesticks/scan", json={"symbols": ["ABC", "xyz"],
                                                       "timeframe": "5m"})
    assert r.status_code == 200, r.json
    res = {x["symbol"]: x for x in r.json["data"]["results"]}
    assert set(res) == {"ABC", "XYZ"} and res["ABC"]["new_detections"] > 0
    assert res["ABC"]["last_bar"] == "2024-03-07T20:55:00+00:00"
    s = client.get("/api/v1/candlesticks/stats?timeframe=5m&pattern=CDLSPINNINGTOP")
    assert s.status_code == 200, s.json
    g = s.json["data"]["groups"][0]
    assert g["pattern"] == "CDLSPINNINGTOP" and set(g["horizons"]) == {"1", "5", "20"}
    assert g["horizons"]["1"]["samples"] > 0 and 0 <= g["horizons"]["1"]["hit_rate"] <= 1
    by_sym = client.get("/api/v1/candlesticks/stats?timeframe=5m&symbol=XYZ&group_by=symbol")
    assert {g["symbol"] for g in by_sym.json["data"]["groups"]} == {"XYZ"}
    pats = client.get("/api/v1/candlesticks/patterns").json["data"]
    assert pats["count"] == 61


@pytest.mark.parametrize("url, field", [
    ("/api/v1/candlesticks/ABC?timeframe=7m", "timeframe"),
    ("/api/v1/candlesticks/ABC?start=2024-03-07T00:00:00Z&end=2024-03-06T00:00:00Z", "body"),
    ("/api/v1/candlesticks/ABC?start=2024-03-07", "body"),
    ("/api/v1/candlesticks/ABC?bogus=1", "bogus"),
    ("/api/v1/candlesticks/ABC?pattern=CDLNOPE", "pattern"),
    ("/api/v1/candlesticks/!!", "symbol"),
    ("/api/v1/candlesticks/stats?horizon=0", "horizon"),
    ("/api/v1/candlesticks/stats?horizon=7", "horizon"),
    ("/api/v1/candlesticks/stats?group_by=sector", "group_by"),
    ("/api/v1/candlesticks/stats?as_of=2024-03-01T00:00:00", "as_of"),
])
def test_bad_queries_name_the_field(client, url, field):
    r = client.get(url)
    assert r.status_code == 400, r.json
    assert r.json["status"] == "error" and r.json["error"]["details"]["field"] == field


@pytest.mark.parametrize("body, field", [
    ({}, "symbols"),
    ({"symbols": []}, "symbols"),
    ({"symbols": ["ABC"], "timeframe": "2m"}, "timeframe"),
    ({"symbols": ["$$"]}, "symbols"),
    ({"symbols": ["ABC"], "extra": 1}, "extra"),
])
def test_bad_scan_bodies_write_nothing(client, db, body, field):
    r = client.post("/api/v1/candlesticks/scan", json=body)
    assert r.status_code == 400 and r.json["error"]["details"]["field"] == field
    assert db.fetch_one("SELECT COUNT(*) FROM candle_detections")[0] == 0


def test_runs_on_the_built_in_market(settings, db):
    """Wire the real data manager (simulated provider, clock) behind the service."""
    from services.pattern_recognition.service import CandlestickService


    dm = DataManager(settings, db, owner=True)
    try:
        svc = CandlestickService(settings, db, MarketFeed(settings, dm))
        now = svc.now()
        res = svc.detections("AAPL", "15m")
        assert res["count"] > 0
        assert all(d["visible_at"] <= now.isoformat() for d in res["detections"])
        assert svc.stats(symbol="AAPL", timeframe="15m")["groups"]
    finally:
        dm.close()
