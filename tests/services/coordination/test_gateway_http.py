"""The gateway's calls reach the suite directly, whatever proxy the environment names."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from flask import Flask, jsonify
from werkzeug.serving import make_server

from services.coordination.gateway import Gateway
from shared.errors import ServiceUnavailable
from shared.http import ServiceClient, reset_breakers
from tests.conftest import make_settings


@pytest.fixture
def broker_port() -> Iterator[int]:
    """A real loopback server answering paper trading's account route."""
    reset_breakers()
    app = Flask("broker")

    @app.get("/api/v1/account")
    def account():  # type: ignore[no-untyped-def]
        return jsonify(status="success", data={"equity": "100000"}, error=None, timestamp="t")

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_port
    server.shutdown()
    reset_breakers()


def test_calls_ignore_proxy_variables(tmp_path: Path, broker_port: int,
                                      monkeypatch: pytest.MonkeyPatch) -> None:
    dead_proxy = "http://127.0.0.1:9"  # nothing listens there
    for var in ("HTTP_PROXY", "http_proxy", "ALL_PROXY", "all_proxy"):
        monkeypatch.setenv(var, dead_proxy)
    for var in ("NO_PROXY", "no_proxy"):
        monkeypatch.delenv(var, raising=False)
    settings = make_settings(tmp_path, services__paper_trading__port=broker_port,
                             http__retries=0)
    # a default client honours the variables, so the dead proxy fails it...
    with pytest.raises(ServiceUnavailable):
        ServiceClient.for_service("paper_trading", settings, timeout=2).get("/api/v1/account")
    reset_breakers()
    # ...while the gateway's client goes straight to the service
    assert Gateway(settings).account() == {"equity": "100000"}
