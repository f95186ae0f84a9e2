"""Ingest, de-duplication, clock-bounded refresh, aggregates and the Alpaca-shaped page."""
from __future__ import annotations

from datetime import timedelta

import pandas as pd
import pytest

from services.news.domain import Article
from services.news.market import FrameMarket
from services.news.service import NewsService
from shared.errors import UnprocessableError, ValidationError
from tests.services.news.factories import daily_frame, session_open

T0 = pd.Timestamp("2024-03-12T20:00:00Z")


@pytest.fixture
def svc(settings, db) -> NewsService:
    market = FrameMarket({"ACME": daily_frame()}, now=T0, names={"ACME": "Acme Corp"})
    return NewsService(settings, db, market=market)


def _art(headline, when, symbols=("ACME",), **kw) -> Article:
    return Article(headline=headline, created_at=when.to_pydatetime(), source="test",
                   symbols=symbols, **kw)


def test_exact_and_near_duplicates_merge_into_one_story(svc, db):
    t = T0 - pd.Timedelta(hours=5)
    r = svc.ingest([
        _art("Acme beats estimates as quarterly revenue rises 12%", t),
        _art("UPDATE 1-Acme beats estimates as quarterly revenue rises 12% - Reuters",
             t + pd.Timedelta(minutes=3), symbols=("ACME", "GLOBX")),
        _art("Acme beats estimates as its quarterly revenue rises 12 percent",
             t - pd.Timedelta(minutes=2)),
        _art("Globex to present at industry conference", t, symbols=("GLOBX",)),
    ])
    assert (len(r.inserted), len(r.merged)) == (2, 2)
    row = db.fetch_one("SELECT * FROM news WHERE id = ?", (r.inserted[0],))
    assert row["duplicate_count"] == 2 and row["symbols"] == '["ACME", "GLOBX"]'
    assert row["created_at"] == (t - pd.Timedelta(minutes=2)).isoformat()  # earliest copy
    assert row["sentiment_label"] == "positive"
    links = db.fetch_all("SELECT symbol FROM news_symbols WHERE news_id = ? ORDER BY symbol",
                         (r.inserted[0],))
    assert [x[0] for x in links] == ["ACME", "GLOBX"]
    # the same story far outside the window is a new story
    later = svc.ingest([_art("Acme beats estimates as its quarterly revenue rises 12 percent",
                             t - pd.Timedelta(days=30))])
    assert len(later.inserted) == 1


def test_refresh_is_clock_bounded_and_incremental(settings, db):
    market = FrameMarket({"ACME": daily_frame()}, now=session_open("2024-03-05")
                         + pd.Timedelta(seconds=30), names={"ACME": "Acme Corp"})
    svc = NewsService(settings, db, market=market)
    # 30 s after the gap opened: the first minute bar has not closed, no gap story yet.
    assert svc.list_news("ACME")["count"] == 0
    market.set_now(session_open("2024-03-05") + pd.Timedelta(minutes=2))
    first = svc.list_news("ACME")
    assert first["count"] == 1
    story = first["news"][0]
    assert story["created_at"] < session_open("2024-03-05").isoformat()  # pre-market
    assert story["sentiment"]["label"] == "positive"
    market.set_now(T0)
    everything = svc.list_news("ACME")
    kinds = [n["event_type"] for n in everything["news"]]
    assert kinds.count("active_up") == 1 and len(kinds) >= 3
    assert all(n["created_at"] <= T0.isoformat() for n in everything["news"])
    again = svc.refresh(["ACME"], force=True)
    assert again["inserted"] == 0  # nothing new, and nothing stored twice
    assert db.fetch_one("SELECT COUNT(*) FROM news")[0] == everything["count"]


def test_list_never_shows_a_story_before_its_time(svc):
    svc.ingest([_art("Acme wins contract worth $300 million", T0 - pd.Timedelta(hours=1),
                     known_at=(T0 + pd.Timedelta(hours=1)).to_pydatetime())])
    assert svc.list_news()["count"] == 0
    svc.market.set_now(T0 + pd.Timedelta(hours=1))  # type: ignore[attr-defined]
    assert svc.list_news()["count"] == 1
    with pytest.raises(UnprocessableError):
        svc.add(_art("From the future", T0 + pd.Timedelta(days=1)))


def test_sentiment_aggregates_and_abnormal_volume(svc):
    base = T0 - pd.Timedelta(hours=30)
    quiet = [_art(f"Acme note number {i} about routine matters", base - pd.Timedelta(days=i))
             for i in range(1, 6)]
    burst = [_art(h, T0 - pd.Timedelta(hours=k)) for k, h in enumerate([
        "Acme downgraded at Citi citing weak outlook",
        "Acme faces lawsuit over product claims",
        "Acme cuts guidance, warns of headwinds",
        "Acme hit with probe from regulators"], start=1)]
    svc.ingest(quiet + burst)
    s = svc.sentiment("ACME", "1d")
    assert s["article_count"] == 4 and s["label_counts"]["negative"] == 4
    assert s["mean_sentiment"] < -0.3
    assert s["volume"]["abnormal"] and s["volume"]["count"] == 4
    assert sum(s["baseline_counts"]) >= 4
    with pytest.raises(ValidationError):
        svc.sentiment("ACME", "fortnight")


def test_alpaca_page_shape_and_pagination(svc):
    svc.ingest([_art(f"Story {i} about Acme expansion plans in region {i}",
                     T0 - timedelta(minutes=10 * i), content=f"body {i}") for i in range(7)])
    page = svc.alpaca_news(symbols=None, limit=3)
    assert len(page["news"]) == 3 and page["next_page_token"]
    a = page["news"][0]
    assert set(a) == {"id", "headline", "author", "created_at", "updated_at", "summary",
                      "content", "url", "images", "symbols", "source"}
    assert a["content"] == "" and a["symbols"] == ["ACME"] and a["created_at"].endswith("Z")
    seen = [x["id"] for x in page["news"]]
    while page["next_page_token"]:
        page = svc.alpaca_news(symbols=None, limit=3, page_token=page["next_page_token"],
                               include_content=True)
        seen += [x["id"] for x in page["news"]]
    assert len(seen) == len(set(seen)) == 7 and page["news"][-1]["content"].startswith("body")
    with pytest.raises(ValidationError):
        svc.alpaca_news(page_token="garbage!")
