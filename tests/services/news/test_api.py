"""The HTTP API of the news service (Flask test client, real SQLite)."""
from __future__ import annotations

import pandas as pd
import pytest

from services.news import create_app
from services.news.market import FrameMarket, MarketView
from services.news.service import NewsService
from shared.db import Database, migrate
from shared.market import DataManager
from tests.conftest import make_settings
from tests.services.news.factories import PLAN, daily_frame

T0 = pd.Timestamp("2024-03-12T20:00:00Z")


@pytest.fixture
def client(settings, db):
    app = create_app(settings)
    svc = app.extensions["service"]
    svc.market = FrameMarket({"ACME": daily_frame()}, now=T0, names={"ACME": "Acme Corp"})
    svc.source = svc._default_source()
    return app.test_client()


def test_get_news_and_sentiment(client):
    r = client.get("/api/v1/news?symbol=acme&limit=2")
    assert r.status_code == 200, r.json
    d = r.json["data"]
    assert d["symbol"] == "ACME" and d["count"] == 2
    assert d["news"][0]["created_at"] >= d["news"][1]["created_at"]
    assert d["news"][0]["sentiment"]["label"] in ("positive", "negative", "neutral")
    one = client.get(f"/api/v1/news/{d['news'][0]['id']}")
    assert one.status_code == 200 and one.json["data"]["id"] == d["news"][0]["id"]
    assert client.get("/api/v1/news/999999").status_code == 404
    s = client.get("/api/v1/sentiment/ACME?window=7d")
    assert s.status_code == 200, s.json
    assert s.json["data"]["article_count"] >= 2 and s.json["data"]["window"] == "7d"
    since = client.get("/api/v1/news?symbol=ACME&since=2024-03-10T00:00:00Z").json["data"]
    assert since["count"] >= 1 and all(n["created_at"] >= "2024-03-10" for n in since["news"])


def test_post_news_creates_then_merges(client):
    body = {"headline": "Acme wins contract worth $400 million", "symbols": ["acme"],
            "created_at": "2024-03-12T18:00:00Z", "url": "https://example.com/a"}
    r = client.post("/api/v1/news", json=body)
    assert r.status_code == 201, r.json
    assert r.json["data"]["sentiment"]["label"] == "positive" and not r.json["data"]["merged"]
    again = client.post("/api/v1/news", json={**body, "headline": body["headline"] + " - Wire"})
    assert again.status_code == 200 and again.json["data"]["merged"]
    assert again.json["data"]["id"] == r.json["data"]["id"]
    page = client.get("/api/v1/news/alpaca?symbols=ACME&limit=50").json["data"]
    assert any(a["headline"] == body["headline"] for a in page["news"])
    assert page["next_page_token"] is None


@pytest.mark.parametrize("body, field, status", [
    ({}, "headline", 400),
    ({"headline": "   "}, "headline", 400),
    ({"headline": "x" * 501}, "headline", 400),
    ({"headline": "ok", "symbols": ["$$$"]}, "symbols", 400),
    ({"headline": "ok", "url": "not a url"}, "url", 400),
    ({"headline": "ok", "created_at": "2024-03-12T18:00:00"}, "created_at", 400),
    ({"headline": "ok", "created_at": "2030-01-01T00:00:00Z"}, "created_at", 422),
    ({"headline": "ok", "bogus": 1}, "bogus", 400),
])
def test_post_news_validation_writes_nothing(client, db, body, field, status):
    r = client.post("/api/v1/news", json=body)
    assert r.status_code == status, r.json
    assert r.json["error"]["details"]["field"] == field
    assert db.fetch_one("SELECT COUNT(*) FROM news")[0] == 0


@pytest.mark.parametrize("url, field", [
    ("/api/v1/news?limit=0", "limit"),
    ("/api/v1/news?since=yesterday", "since"),
    ("/api/v1/sentiment/ACME?window=1y", "window"),
    ("/api/v1/news/alpaca?sort=up", "sort"),
    ("/api/v1/news/alpaca?limit=51", "limit"),
    ("/api/v1/news/alpaca?page_token=zzz", "page_token"),
])
def test_bad_queries_name_the_field(client, url, field):
    r = client.get(url)
    assert r.status_code == 400, r.json
    assert r.json["error"]["details"]["field"] == field


def test_simulated_news_on_the_built_in_market(tmp_path):
    """Wire the real data manager: stories come from the simulated market's own moves."""
    settings = make_settings(tmp_path, news__gap_threshold=0.004)
    db = Database.from_settings(settings)
    migrate(db)
    dm = DataManager(settings, db, owner=True)
    try:
        svc = NewsService(settings, db, market=MarketView(settings, dm))
        now = svc.now()
        res = svc.list_news("AAPL", limit=100)
        assert all(n["created_at"] <= now.isoformat() for n in res["news"])
        daily = dm.get_ohlcv("AAPL", "1d", now - pd.Timedelta(days=40), now)
        gaps = (daily["open"] / daily["close"].shift(1) - 1).abs() >= settings.news.gap_threshold
        gaps = gaps[daily.index >= now - pd.Timedelta(days=settings.news.backfill_days)]
        n_gap = sum(1 for n in res["news"] if n["event_type"] not in (
            "active_up", "active_down", "conference", "results_date", "dividend_declared"))
        assert n_gap == int(gaps.sum()) > 0, (n_gap, len(daily))
    finally:
        dm.close()
        db.close()


def test_sentiment_batch_equals_one_request_per_symbol(settings, db):
    app = create_app(settings)
    svc = app.extensions["service"]
    beta = [(d, o * 0.5, c * 0.5) for d, o, c in PLAN[:4]] + \
        [(d, 50.0, 50.1) for d, _, _ in PLAN[4:]]  # its own gaps: other stories
    frames = {"ACME": daily_frame(), "BETA": daily_frame(beta)}
    svc.market = FrameMarket(frames, now=T0, names={"ACME": "Acme Corp", "BETA": "Beta Inc"})
    svc.source = svc._default_source()
    client = app.test_client()
    r = client.post("/api/v1/sentiment/batch", json={"symbols": ["acme", "BETA"],
                                                      "window": "7d"})
    assert r.status_code == 200, r.json
    got = r.json["data"]
    assert [x["symbol"] for x in got["results"]] == ["ACME", "BETA"] and got["count"] == 2
    assert got["results"][0]["article_count"] >= 2
    for x in got["results"]:  # refreshed already: the single reads pull nothing new
        one = client.get(f"/api/v1/sentiment/{x['symbol']}?window=7d").json["data"]
        assert one == x
    logged = db.fetch_all("SELECT symbol FROM news_fetch_log ORDER BY symbol")
    assert [row["symbol"] for row in logged] == ["ACME", "BETA"]


@pytest.mark.parametrize("body,field", [
    ({"symbols": []}, "symbols"),
    ({"symbols": ["ACME", "bad sym!"]}, "symbols"),
    ({"symbols": ["ACME"], "window": "7x"}, "window"),
    ({"symbols": ["ACME"], "bogus": 1}, "bogus"),
    ({}, "symbols"),
])
def test_sentiment_batch_bad_input_is_a_400(client, db, body, field):
    r = client.post("/api/v1/sentiment/batch", json=body)
    assert r.status_code == 400, r.json
    assert r.json["error"]["details"]["field"].split(".")[0] == field
    assert db.fetch_one("SELECT COUNT(*) FROM news_fetch_log")[0] == 0


def test_sentiment_batch_is_documented_and_get_sentiment_still_routes(client):
    spec = client.get("/openapi.json").json
    spec = spec.get("data", spec)
    assert "post" in spec["paths"]["/api/v1/sentiment/batch"]
    assert client.get("/api/v1/sentiment/ACME").status_code == 200
