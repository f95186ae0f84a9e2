"""The SSE feeds on the stream server: paper trading's trade events and the dashboard's topics,
reached through the Flask routes' 307 as clients do."""
from __future__ import annotations

import json
import time
from datetime import timedelta

import pytest
import requests

from tests.conftest import make_settings
from tests.services.paper_trading.helpers import OPEN, seed_bars
from tests.services.paper_trading.streams_helpers import free_port, stream_server

pytestmark = pytest.mark.timeout(60)
BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103)]


@pytest.fixture
def settings(tmp_path):  # noqa: ANN001, ANN201 - the stream server on the configured port
    return make_settings(tmp_path, services__paper_streams__port=free_port(),
                         paper_trading__events_heartbeat_s=0.3,
                         dashboard__stream_max_s=1.0, dashboard__poll_interval_s=0.1,
                         dashboard__stream_heartbeat_s=0.3, dashboard__upstream_timeout_s=0.5)


@pytest.fixture
def streams(settings, db):  # noqa: ANN001, ANN201 - after the migrations
    with stream_server(settings, settings.port("paper_streams")) as url:
        yield url.replace("ws://", "http://")


def _frames(text: str) -> list[dict]:
    out = []
    for block in text.split("\n\n"):
        fields = dict(line.split(": ", 1) for line in block.split("\n") if ": " in line
                      and not line.startswith(":"))
        if "id" in fields:
            out.append(fields)
    return out


def test_trade_event_feed_resumes_and_follows_live(client, db, clock, live_url,  # noqa: ANN001
                                                   streams) -> None:
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + timedelta(minutes=1)
    client.post("/api/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1})
    clock.t = OPEN + timedelta(minutes=2)
    client.post("/api/v1/clock/sync", json={})
    r = requests.get(live_url + "/api/v1/events/stream?max_events=3", timeout=10)
    assert r.history and r.history[0].status_code == 307  # followed to the stream server
    assert r.headers["Content-Type"].startswith("text/event-stream")
    assert r.text.startswith("retry: 2000\n\n")
    frames = _frames(r.text)
    assert [f["event"] for f in frames] == ["order_submitted", "order_new", "fill"] or \
        frames[0]["event"] == "order_submitted"
    first = int(frames[0]["id"])
    r2 = requests.get(live_url + "/api/v1/events/stream?idle_timeout_s=0.5",
                      headers={"Last-Event-ID": str(first)}, timeout=10)
    ids = [int(f["id"]) for f in _frames(r2.text)]
    assert ids and min(ids) == first + 1
    fill = json.loads(next(f["data"] for f in _frames(r2.text) if f["event"] == "fill"))
    assert fill["data"]["price"] == "101"
    assert ": keep-alive" in r2.text  # heartbeat 0.3 s < idle 0.5 s
    # live: an event written while the client listens arrives through the poller
    with requests.get(streams + f"/api/v1/events/stream?after={max(ids)}&max_events=1",
                      stream=True, timeout=10) as live:
        t0 = time.monotonic()
        client.post("/api/v1/orders", json={"symbol": "AAPL", "side": "buy", "qty": 2,
                                            "type": "limit", "limit_price": "50",
                                            "time_in_force": "gtc"})
        body = b"".join(live.iter_content(None)).decode()
        assert time.monotonic() - t0 < 5
    got = _frames(body)
    assert len(got) == 1 and got[0]["event"] == "order_submitted"
    # another account's feed has none of the automation's events
    other = requests.get(streams + "/api/v1/events/stream?account=999&idle_timeout_s=0.2",
                         timeout=10)
    assert other.status_code == 404 and other.json()["error"]["details"]["field"] == "account"
    bad = requests.get(streams + "/api/v1/events/stream?max_events=0", timeout=10)
    assert bad.status_code == 400 and bad.json()["error"]["details"]["field"] == "max_events"


def test_dashboard_stream_sends_topics_and_allows_only_the_dashboard_origin(
        settings, streams) -> None:  # noqa: ANN001
    dash = f"http://127.0.0.1:{settings.port('dashboard')}"
    r = requests.get(streams + "/api/v1/dashboard/stream?topics=health,clock",
                     headers={"Origin": dash}, timeout=15)
    assert r.status_code == 200 and r.headers["Content-Type"].startswith("text/event-stream")
    assert r.headers["Access-Control-Allow-Origin"] == dash
    assert "event: health" in r.text and "event: clock" in r.text
    assert "event: orders" not in r.text and r.text.rstrip().endswith("data: {}")
    evil = requests.get(streams + "/api/v1/dashboard/stream?topics=clock",
                        headers={"Origin": "http://evil.example"}, timeout=15)
    assert "Access-Control-Allow-Origin" not in evil.headers
    assert requests.get(streams + "/api/v1/dashboard/stream?colour=red",
                        timeout=5).status_code == 400
