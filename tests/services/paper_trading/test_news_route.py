"""/v1beta1/news served read-only from the news table, for alpaca-py's NewsClient."""
from __future__ import annotations

import json
import warnings
from datetime import timedelta

from tests.services.paper_trading.helpers import OPEN

with warnings.catch_warnings():
    warnings.simplefilter("ignore", DeprecationWarning)
    from alpaca.data.historical.news import NewsClient
    from alpaca.data.requests import NewsRequest

Z = "%Y-%m-%dT%H:%M:%S+00:00"


def seed_news(db, rows: list[tuple[str, list[str], object]]) -> None:  # noqa: ANN001
    """Insert (headline, symbols, created_at) articles as the news service stores them."""
    with db.transaction() as conn:
        for headline, symbols, at in rows:
            t = at.strftime(Z)
            cur = conn.execute(
                "INSERT INTO news (headline, summary, author, source, url, symbols, created_at, "
                "updated_at, content, sentiment_score, sentiment_label, dedup_key, origin, "
                "known_at, ingested_at) VALUES (?, 's', 'a', 'wire', NULL, ?, ?, ?, 'body', 0, "
                "'neutral', ?, 'test', ?, ?)",
                (headline, json.dumps(symbols), t, t, headline, t, t))
            conn.executemany("INSERT INTO news_symbols (news_id, symbol, created_at, known_at) "
                             "VALUES (?, ?, ?, ?)", [(cur.lastrowid, s, t, t) for s in symbols])


def test_news_client_pages_through_visible_articles_only(live_url, db, clock) -> None:  # noqa: ANN001
    clock.t = OPEN + timedelta(hours=2)
    rows = [(f"aapl {i}", ["AAPL"], OPEN + timedelta(minutes=i)) for i in range(60)]
    rows += [("msft only", ["MSFT"], OPEN), ("both", ["AAPL", "MSFT"], OPEN - timedelta(hours=1))]
    rows += [(f"future {i}", ["AAPL"], clock.t + timedelta(minutes=1 + i)) for i in range(3)]
    seed_news(db, rows)
    nc = NewsClient("k", "s", url_override=live_url)
    got = nc.get_news(NewsRequest(symbols="AAPL")).data["news"]  # 50 per page: two pages
    assert len(got) == 61 and len({n.id for n in got}) == 61
    assert [n.headline for n in got[:2]] == ["aapl 59", "aapl 58"]  # newest first
    assert got[-1].headline == "both"
    assert all(n.created_at <= clock.t for n in got) and got[0].symbols == ["AAPL"]
    assert got[0].content == ""  # only with include_content
    page = nc.get_news(NewsRequest(symbols="MSFT", include_content=True)).data["news"]
    assert [n.headline for n in page] == ["msft only", "both"] and page[0].content == "body"


def test_filters_sort_and_tokens_over_http(client, db, clock) -> None:  # noqa: ANN001
    clock.t = OPEN + timedelta(hours=1)
    seed_news(db, [(f"n{i}", ["AAPL"], OPEN + timedelta(minutes=10 * i)) for i in range(8)])
    start, end = (OPEN + timedelta(minutes=10)).strftime(Z), (OPEN + timedelta(minutes=50))
    seen, token = [], None
    for _ in range(10):
        q = {"symbols": "AAPL", "start": start, "end": end.strftime(Z), "sort": "asc",
             "limit": 2}
        if token:
            q["page_token"] = token
        r = client.get("/v1beta1/news", query_string=q)
        assert r.status_code == 200
        seen += [a["headline"] for a in r.json["news"]]
        token = r.json["next_page_token"]
        if token is None:
            break
    assert seen == ["n1", "n2", "n3", "n4", "n5"]  # inside [start, end]
    every = client.get("/v1beta1/news?sort=asc&limit=50").json["news"]
    assert [a["headline"] for a in every] == [f"n{i}" for i in range(7)]  # n7 is after now
    bad = client.get("/v1beta1/news?page_token=xyz")
    assert bad.status_code == 400 and bad.json["code"] == 40010001
    assert client.get("/v1beta1/news?start=notatime").status_code == 400
    assert client.get("/v1beta1/news?symbols=TSLA").json == {"news": [],
                                                              "next_page_token": None}
