"""The stream server's protocol edges with a plain websocket client: Alpaca's error messages,
closing garbage and unauthenticated clients, JSON and msgpack, news; the server stays healthy."""
from __future__ import annotations

import json
import time

import msgpack
import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.conftest import make_settings
from tests.services.paper_trading.streams_helpers import stream_server

pytestmark = pytest.mark.timeout(60)
KEY = "suite-key-123"
MSGPACK = {"Content-Type": "application/msgpack"}


@pytest.fixture
def settings(tmp_path):  # noqa: ANN001, ANN201
    return make_settings(tmp_path, security__api_key=KEY,
                         paper_trading__streams__auth_timeout_s=0.4)


@pytest.fixture
def url(settings, db):  # noqa: ANN001, ANN201
    with stream_server(settings) as u:
        yield u


def _closed(ws) -> bool:  # noqa: ANN001
    try:
        ws.recv(timeout=3)
    except ConnectionClosed:
        return True
    return False


def _mp(ws) -> list:  # noqa: ANN001
    return msgpack.unpackb(ws.recv(timeout=3))


def test_data_stream_errors_close_the_connection(url: str) -> None:
    with connect(url + "/v2/iex", additional_headers=MSGPACK) as ws:
        assert _mp(ws) == [{"T": "success", "msg": "connected"}]
        ws.send(b"\xc1garbage")
        assert _mp(ws) == [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        assert _closed(ws)
    with connect(url + "/v2/sip", additional_headers=MSGPACK) as ws:
        _mp(ws)
        ws.send(msgpack.packb({"action": "subscribe", "bars": ["AAPL"]}))
        assert _mp(ws) == [{"T": "error", "code": 401, "msg": "not authenticated"}]
        assert _closed(ws)
    with connect(url + "/v2/iex", additional_headers=MSGPACK) as ws:
        _mp(ws)
        ws.send(msgpack.packb({"action": "auth", "key": "k", "secret": "wrong"}))
        assert _mp(ws) == [{"T": "error", "code": 402, "msg": "auth failed"}]
        assert _closed(ws)
    with connect(url + "/v2/test", additional_headers=MSGPACK) as ws:
        _mp(ws)  # then silence: Alpaca's auth timeout
        assert _mp(ws) == [{"T": "error", "code": 404, "msg": "auth timeout"}]
        assert _closed(ws)
    with connect(url + "/v2/iex", additional_headers=MSGPACK) as ws:
        _mp(ws)
        ws.send(msgpack.packb({"action": "auth", "key": "k", "secret": KEY}))
        assert _mp(ws) == [{"T": "success", "msg": "authenticated"}]
        ws.send(msgpack.packb({"action": "subscribe", "bars": "AAPL"}))  # not a list
        assert _mp(ws) == [{"T": "error", "code": 400, "msg": "invalid syntax"}]
        assert _closed(ws)
    _healthy(url)


def test_json_data_stream_subscribes_and_unsubscribes(url: str) -> None:
    with connect(url + "/v2/iex") as ws:  # no msgpack header: Alpaca's JSON text frames
        assert json.loads(ws.recv(timeout=3)) == [{"T": "success", "msg": "connected"}]
        ws.send(json.dumps({"action": "auth", "key": "k", "secret": KEY}))
        assert json.loads(ws.recv(timeout=3))[0]["msg"] == "authenticated"
        ws.send(json.dumps({"action": "subscribe", "trades": ["aapl"], "bars": ["*"],
                            "dailyBars": ["MSFT"]}))
        ack = json.loads(ws.recv(timeout=3))[0]
        assert ack["T"] == "subscription" and ack["trades"] == ["AAPL"]
        assert ack["bars"] == ["*"] and ack["dailyBars"] == ["MSFT"]
        assert ack["corrections"] == ["AAPL"] and ack["quotes"] == []
        ws.send(json.dumps({"action": "unsubscribe", "trades": ["AAPL"], "bars": ["*"]}))
        ack = json.loads(ws.recv(timeout=3))[0]
        assert ack["trades"] == [] and ack["bars"] == [] and ack["dailyBars"] == ["MSFT"]


def test_trading_stream_rejects_garbage_and_bad_keys(url: str) -> None:
    unauthorized = {"stream": "authorization",
                    "data": {"status": "unauthorized", "action": "authenticate"}}
    for first in ("not json", json.dumps({"action": "listen",
                                          "data": {"streams": ["trade_updates"]}}),
                  json.dumps({"action": "authenticate",
                              "data": {"key_id": "k", "secret_key": "wrong"}})):
        with connect(url + "/stream") as ws:
            ws.send(first)
            assert json.loads(ws.recv(timeout=3)) == unauthorized
            assert _closed(ws)
    with connect(url + "/stream") as ws:  # never authenticates
        assert json.loads(ws.recv(timeout=3)) == unauthorized
        assert _closed(ws)
    with connect(url + "/stream") as ws:
        ws.send(json.dumps({"action": "authenticate",
                            "data": {"key_id": "bot-7", "secret_key": KEY}}))
        assert json.loads(ws.recv(timeout=3)) == {
            "stream": "authorization", "data": {"status": "authorized",
                                                "action": "authenticate"}}
        ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        assert json.loads(ws.recv(timeout=3)) == {"stream": "listening",
                                                  "data": {"streams": ["trade_updates"]}}
        assert _health(url)["clients"]["trading_clients"] == 1
    _healthy(url)


def test_news_stream_sends_new_stories(url: str, db) -> None:  # noqa: ANN001
    with connect(url + "/v1beta1/news", additional_headers=MSGPACK) as ws:
        _mp(ws)
        ws.send(msgpack.packb({"action": "auth", "key": "k", "secret": KEY}))
        _mp(ws)
        ws.send(msgpack.packb({"action": "subscribe", "news": ["*"]}))
        assert _mp(ws) == [{"T": "subscription", "news": ["*"]}]
        time.sleep(0.1)
        db.execute_with_retry(
            "INSERT INTO news (headline, summary, author, source, url, symbols, created_at, "
            "updated_at, content, sentiment_score, sentiment_label, dedup_key, origin, "
            "known_at, ingested_at) VALUES ('Apple beats', 's', 'a', 'test', NULL, '[\"AAPL\"]', "
            "'2023-12-29T15:00:00+00:00', '2023-12-29T15:00:00+00:00', 'body', 0.5, "
            "'positive', 'k1', 'test', '2023-12-29T15:00:00+00:00', "
            "'2023-12-29T15:00:00+00:00')")
        msgs = _mp(ws)
        assert [m["T"] for m in msgs] == ["n"] and msgs[0]["headline"] == "Apple beats"
        assert msgs[0]["symbols"] == ["AAPL"] and msgs[0]["url"] is None
        assert msgs[0]["created_at"].to_datetime().year == 2023


def _health(url: str) -> dict:
    r = requests.get(url.replace("ws://", "http://") + "/health", timeout=5)
    assert r.status_code == 200, r.text
    return r.json()["data"]


def _healthy(url: str) -> None:
    data = _health(url)
    assert data["status"] == "healthy" and data["poller"]["errors"] == 0
