"""Where the Flask services send SSE clients: the stream server on the host the client used,
including behind Codespaces' and Gitpod's port forwarding (the port is in the host name)."""
from __future__ import annotations

import pytest

from services.paper_trading.streaming.sse import dashboard_origin_ok
from shared.config import Settings
from shared.web.stream_urls import forwarded_port, stream_location


@pytest.mark.parametrize(("host", "url"), [
    ("127.0.0.1:5010", "http://127.0.0.1:5007/s?account=2"),
    ("localhost:5005", "http://localhost:5007/s?account=2"),
    ("[::1]:5005", "http://[::1]:5007/s?account=2"),
    ("myhost", "http://myhost:5007/s?account=2"),
    ("fuzzy-x-5010.app.github.dev", "https://fuzzy-x-5007.app.github.dev/s?account=2"),
    ("5010-abc-def.ws-eu1.gitpod.io", "https://5007-abc-def.ws-eu1.gitpod.io/s?account=2"),
])
def test_the_stream_server_on_the_clients_host(settings: Settings, host: str, url: str) -> None:
    assert stream_location(settings, host, "http", "/s", {"account": "2"}) == url


def test_the_dashboard_origin_behind_port_forwarding_may_read_the_live_stream(
        settings: Settings) -> None:
    assert forwarded_port("fuzzy-x-5010.app.github.dev") == 5010
    assert forwarded_port("evil.example") is None
    assert dashboard_origin_ok("https://fuzzy-x-5010.app.github.dev", settings)
    assert dashboard_origin_ok("http://localhost:5010", settings)
    assert not dashboard_origin_ok("https://fuzzy-x-5005.app.github.dev", settings)
    assert not dashboard_origin_ok("https://evil.example", settings)
    assert not dashboard_origin_ok("https://5010.evil.example", settings)
