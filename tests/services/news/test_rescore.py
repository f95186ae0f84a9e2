"""Stories stored under an earlier lexicon get today's score from POST /news/rescore."""
from __future__ import annotations

import pandas as pd
import pytest

from services.news import create_app
from services.news.domain import FinanceSentiment
from services.news.market import FrameMarket
from tests.services.news.factories import daily_frame

T0 = pd.Timestamp("2024-03-12T20:00:00Z")
SLIDE = "Acme shares slide in heavy trading"


@pytest.fixture
def client(settings, db):
    app = create_app(settings)
    svc = app.extensions["service"]
    svc.market = FrameMarket({"ACME": daily_frame()}, now=T0, names={"ACME": "Acme Corp"})
    svc.source = svc._default_source()
    return app.test_client()


def test_rescore_updates_the_stories_an_older_lexicon_scored(client, db):
    listed = client.get("/api/v1/news?symbol=ACME").json["data"]  # the simulated stories
    posted = client.post("/api/v1/news", json={
        "headline": SLIDE, "symbols": ["ACME"], "created_at": "2024-03-12T19:00:00Z"})
    assert posted.status_code == 201, posted.json
    news_id = posted.json["data"]["id"]
    assert posted.json["data"]["sentiment"]["label"] == "negative"
    before = client.get("/api/v1/sentiment/ACME?window=1d").json["data"]["mean_sentiment"]
    # What the lexicon before the finance verbs stored for this headline (+0.296, positive).
    db.execute_with_retry("UPDATE news SET sentiment_score = 0.296, sentiment_label = "
                          "'positive' WHERE id = ?", (news_id,))
    stale = client.get("/api/v1/sentiment/ACME?window=1d").json["data"]["mean_sentiment"]
    assert stale > before

    r = client.post("/api/v1/news/rescore")
    assert r.status_code == 200, r.json
    assert r.json["data"] == {"checked": listed["count"] + 1, "updated": 1}
    row = client.get(f"/api/v1/news/{news_id}").json["data"]
    assert row["sentiment"] == {"score": FinanceSentiment().score(SLIDE).compound,
                                "label": "negative"}
    after = client.get("/api/v1/sentiment/ACME?window=1d").json["data"]["mean_sentiment"]
    assert after == pytest.approx(before)
    # nothing left to move: a second run writes nothing
    assert client.post("/api/v1/news/rescore").json["data"]["updated"] == 0


def test_rescore_is_in_the_openapi_document(client):
    spec = client.get("/openapi.json").json
    spec = spec.get("data", spec)
    assert "post" in spec["paths"]["/api/v1/news/rescore"]
