"""The stream server's connection caps: ``max_clients_per_ip`` and ``max_clients`` (websockets
and SSE counted together), answered as Alpaca answers (406 on a data stream, the trading
stream's error form, 503 with Retry-After on SSE); the server stays healthy and frees a slot
when a client leaves.

Clients come from different loopback addresses (127.0.0.2, .3 ...: all of 127/8 is local on
Linux) so one test tells the per-address cap from the global one.
"""
from __future__ import annotations

import http.client
import json
import socket
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from urllib.parse import urlsplit

import pytest
import requests
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import ClientConnection, connect

from tests.conftest import make_settings
from tests.services.paper_trading.streams_helpers import stream_server, wait_for

pytestmark = pytest.mark.timeout(60)
KEY = "suite-key-123"
LIMIT_406 = {"T": "error", "code": 406, "msg": "connection limit exceeded"}
TRADING_LIMIT = {"stream": "listening", "data": {"error": "connection limit exceeded"}}


@pytest.fixture
def settings(tmp_path):  # noqa: ANN001, ANN201
    return make_settings(tmp_path, security__api_key=KEY,
                         paper_trading__streams__max_clients=5,
                         paper_trading__streams__max_clients_per_ip=3)


@pytest.fixture
def url(settings, db):  # noqa: ANN001, ANN201 - after the migrations
    with stream_server(settings) as u:
        yield u


def _ws(url: str, path: str, source: str) -> ClientConnection:
    parts = urlsplit(url)
    sock = socket.create_connection((parts.hostname, parts.port), timeout=5,
                                    source_address=(source, 0))
    return connect(url + path, sock=sock, open_timeout=5)


@contextmanager
def _sse(url: str, source: str, path: str = "/api/v1/events/stream"
         ) -> Iterator[tuple[int, dict[str, str], bytes]]:
    """Open an SSE request from ``source``; yield (status, headers, first bytes), held open."""
    parts = urlsplit(url)
    conn = http.client.HTTPConnection(parts.hostname, parts.port, timeout=5,
                                      source_address=(source, 0))
    try:
        conn.request("GET", path)
        resp = conn.getresponse()
        body = resp.read() if resp.status != 200 else resp.read1(64)
        yield resp.status, dict(resp.headers), body
    finally:
        conn.close()


def _refused_after(ws: ClientConnection, *expected: object) -> None:
    """The messages ``ws`` gets are ``expected`` (JSON), then the server closes it."""
    for want in expected:
        assert json.loads(ws.recv(timeout=3)) == want
    with pytest.raises(ConnectionClosed):
        ws.recv(timeout=3)


def _health(url: str) -> dict:
    resp = requests.get(url.replace("ws://", "http://") + "/health", timeout=5)
    assert resp.status_code == 200, resp.text
    return resp.json()["data"]


def test_a_client_address_over_its_cap_gets_alpacas_error_and_is_closed(url: str) -> None:
    with ExitStack() as held:
        # three from 127.0.0.2: a data stream, the trading stream, an SSE subscriber
        data = held.enter_context(_ws(url, "/v2/iex", "127.0.0.2"))
        assert json.loads(data.recv(timeout=3)) == [{"T": "success", "msg": "connected"}]
        held.enter_context(_ws(url, "/stream", "127.0.0.2"))
        status, _, first = held.enter_context(_sse(url, "127.0.0.2"))
        assert (status, first) == (200, b"retry: 2000\n\n")
        assert wait_for(lambda: _health(url)["clients"]["connections"] == 3)

        with _ws(url, "/v2/iex", "127.0.0.2") as over:  # Alpaca: connected, then 406
            _refused_after(over, [{"T": "success", "msg": "connected"}], [LIMIT_406])
        with _ws(url, "/v1beta1/news", "127.0.0.2") as over:
            _refused_after(over, [{"T": "success", "msg": "connected"}], [LIMIT_406])
        with _ws(url, "/stream", "127.0.0.2") as over:
            _refused_after(over, TRADING_LIMIT)
        for path in ("/api/v1/events/stream", "/api/v1/dashboard/stream"):
            with _sse(url, "127.0.0.2", path) as (status, headers, body):
                assert status == 503, body
                assert int(headers["Retry-After"]) >= 1
                err = json.loads(body)["error"]
                assert err["code"] == "connection_limit"
                assert err["message"] == "connection limit exceeded"
                assert err["details"] == {"field": "max_clients_per_ip"}

        # another address is not limited by 127.0.0.2's connections
        with _ws(url, "/v2/iex", "127.0.0.3") as other:
            assert json.loads(other.recv(timeout=3)) == [{"T": "success", "msg": "connected"}]
            other.send(json.dumps({"action": "auth", "key": "k", "secret": KEY}))
            assert json.loads(other.recv(timeout=3))[0]["msg"] == "authenticated"

        health = _health(url)
        assert health["status"] == "healthy"
        assert health["clients"]["refused_max_clients_per_ip"] == 5
        assert health["clients"]["most_from_one_address"] == 3
        data.close()  # a slot of 127.0.0.2 is free again once one leaves
        assert wait_for(lambda: _health(url)["clients"]["connections"] == 2)
        with _ws(url, "/v2/iex", "127.0.0.2") as again:
            assert json.loads(again.recv(timeout=3)) == [{"T": "success", "msg": "connected"}]
            again.send(json.dumps({"action": "auth", "key": "k", "secret": KEY}))
            assert json.loads(again.recv(timeout=3))[0]["msg"] == "authenticated"
    assert wait_for(lambda: _health(url)["clients"]["connections"] == 0)


def test_the_global_cap_counts_sse_subscribers(url: str) -> None:
    with ExitStack() as held:  # max_clients 5: three SSE and two websockets, 3 addresses
        for source in ("127.0.0.4", "127.0.0.4", "127.0.0.5"):
            status, _, _ = held.enter_context(_sse(url, source))
            assert status == 200
        held.enter_context(_sse(url, "127.0.0.5", "/api/v1/dashboard/stream"))
        held.enter_context(_ws(url, "/stream", "127.0.0.6"))
        assert wait_for(lambda: _health(url)["clients"]["connections"] == 5)
        # a fresh address, under its own cap: refused by the total, SSE included
        with _ws(url, "/v2/sip", "127.0.0.7") as over:
            _refused_after(over, [{"T": "success", "msg": "connected"}], [LIMIT_406])
        with _ws(url, "/stream", "127.0.0.7") as over:
            _refused_after(over, TRADING_LIMIT)
        with _sse(url, "127.0.0.7") as (status, headers, body):
            assert status == 503 and "Retry-After" in headers
            assert json.loads(body)["error"]["details"] == {"field": "max_clients"}
        health = _health(url)
        assert health["status"] == "healthy"
        assert health["clients"]["sse_clients"] == 3
        assert health["clients"]["refused_max_clients"] == 3
    assert wait_for(lambda: _health(url)["clients"]["connections"] == 0)


def test_per_address_cap_cannot_exceed_the_total(tmp_path) -> None:  # noqa: ANN001
    from shared.errors import ConfigError

    with pytest.raises(ConfigError, match="max_clients_per_ip"):
        make_settings(tmp_path, paper_trading__streams__max_clients=10,
                      paper_trading__streams__max_clients_per_ip=11)
