"""Alpaca news through alpaca-py against a local HTTP fake, and RSS/Atom/JSON file imports."""
from __future__ import annotations

import json
import threading
from datetime import UTC, datetime

import pytest
from flask import Flask, jsonify, request
from werkzeug.serving import make_server

from services.news.sources import AlpacaSource, FileSource
from shared.errors import ServiceUnavailable, ValidationError

ARTICLES = [
    {"id": 101, "headline": "Acme beats estimates", "source": "benzinga", "url": None,
     "summary": "s1", "created_at": "2024-03-05T12:00:00Z", "updated_at": "2024-03-05T12:01:00Z",
     "symbols": ["ACME"], "author": "a1", "content": "<p>c1</p>", "images": []},
    {"id": 102, "headline": "Globex downgraded at Citi", "source": "benzinga",
     "url": "https://x.invalid/2", "summary": "", "created_at": "2024-03-05T13:00:00Z",
     "updated_at": "2024-03-05T13:00:00Z", "symbols": ["GLOBX", "ACME"], "author": "a2",
     "content": ""},
]


@pytest.fixture
def fake_alpaca():
    app = Flask("fake_alpaca")
    seen: list[dict] = []

    @app.get("/v1beta1/news")
    def news():
        seen.append({"args": dict(request.args), "key": request.headers.get("APCA-API-KEY-ID")})
        if request.headers.get("APCA-API-SECRET-KEY") != "secret":
            return jsonify({"code": 40110000, "message": "unauthorized"}), 401
        token = request.args.get("page_token")
        # two pages, to exercise the SDK's pagination
        if token is None:
            return jsonify({"news": ARTICLES[:1], "next_page_token": "p2"})
        return jsonify({"news": ARTICLES[1:], "next_page_token": None})

    server = make_server("127.0.0.1", 0, app)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", seen
    server.shutdown()
    thread.join(5)


def test_alpaca_source_reads_every_page_through_the_sdk(fake_alpaca):
    url, seen = fake_alpaca
    src = AlpacaSource("key", "secret", url_override=url)
    arts = src.fetch(["ACME"], datetime(2024, 3, 5, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC))
    assert [a.headline for a in arts] == ["Acme beats estimates", "Globex downgraded at Citi"]
    assert arts[1].symbols == ("GLOBX", "ACME") and arts[0].external_id == "alpaca:101"
    assert arts[0].created_at == datetime(2024, 3, 5, 12, tzinfo=UTC)
    assert seen[0]["key"] == "key" and seen[0]["args"]["symbols"] == "ACME"
    assert seen[1]["args"]["page_token"] == "p2"


def test_alpaca_errors_become_service_unavailable(fake_alpaca):
    url, _ = fake_alpaca
    with pytest.raises(ServiceUnavailable):
        AlpacaSource("key", "wrong", url_override=url).fetch(
            ["ACME"], datetime(2024, 3, 5, tzinfo=UTC), datetime(2024, 3, 6, tzinfo=UTC))


RSS = """<?xml version="1.0"?>
<rss version="2.0"><channel><title>Wire</title>
<item><title>$ACME raises guidance for full year</title><link>https://w.invalid/1</link>
<pubDate>Tue, 05 Mar 2024 12:00:00 GMT</pubDate><description>&lt;b&gt;Up&lt;/b&gt;</description></item>
<item><title>Globex faces lawsuit</title><link>https://w.invalid/2</link><category>GLOBX</category>
<pubDate>Tue, 05 Mar 2024 14:00:00 GMT</pubDate></item>
<item><title>No date here</title></item>
</channel></rss>"""

ATOM = """<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom"><title>AtomWire</title><id>x</id>
<updated>2024-03-05T15:00:00Z</updated>
<entry><title>$ACME upgraded at Jefferies</title><id>e1</id>
<link href="https://a.invalid/1"/><updated>2024-03-05T15:00:00Z</updated></entry>
</feed>"""


def test_rss_and_atom_feeds(tmp_path):
    (tmp_path / "w.xml").write_text(RSS)
    (tmp_path / "a.xml").write_text(ATOM)
    rss = FileSource(tmp_path / "w.xml").read()
    assert [(a.headline, a.symbols) for a in rss] == [
        ("$ACME raises guidance for full year", ("ACME",)), ("Globex faces lawsuit", ("GLOBX",))]
    assert rss[0].created_at == datetime(2024, 3, 5, 12, tzinfo=UTC)
    assert rss[0].summary == "Up" and rss[0].source == "Wire"
    atom = FileSource(tmp_path / "a.xml").fetch(["ACME"], datetime(2024, 3, 5, tzinfo=UTC),
                                                datetime(2024, 3, 6, tzinfo=UTC))
    assert [a.url for a in atom] == ["https://a.invalid/1"]


def test_json_file_and_bad_files(tmp_path):
    p = tmp_path / "n.json"
    p.write_text(json.dumps({"news": ARTICLES}))
    arts = FileSource(p).fetch(["GLOBX"], datetime(2024, 3, 5, tzinfo=UTC),
                               datetime(2024, 3, 6, tzinfo=UTC))
    assert [a.headline for a in arts] == ["Globex downgraded at Citi"]
    assert arts[0].origin == "file"
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"headline": "no time"}]))
    with pytest.raises(ValidationError) as e:
        FileSource(bad).read()
    assert e.value.field == "news.0"
    with pytest.raises(ValidationError):
        FileSource(tmp_path / "missing.json").read()
