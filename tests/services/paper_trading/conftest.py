"""Fixtures: a paper trading service on a hand-moved clock, and the app served on loopback."""
from __future__ import annotations

import threading
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from services.paper_trading import create_app
from services.paper_trading.service_layer.service import PaperTradingService
from shared.config import Settings
from shared.db import Database
from tests.services.paper_trading.helpers import OPEN, Clock


@pytest.fixture
def clock() -> Clock:
    return Clock(OPEN)


@pytest.fixture
def svc(settings: Settings, db: Database, clock: Clock) -> PaperTradingService:
    return PaperTradingService(settings, database=db, now=clock)


@pytest.fixture
def app(settings: Settings, db: Database, clock: Clock):  # noqa: ANN201 - Flask app
    return create_app(settings, now=clock)


@pytest.fixture
def client(app):  # noqa: ANN001, ANN201
    """A test client whose /v2 requests act on the automation's account (key id
    ``automation``), as the /api/v1 ones do by default."""
    c = app.test_client()
    c.environ_base["HTTP_APCA_API_KEY_ID"] = "automation"
    return c


@pytest.fixture
def live_url(app) -> Iterator[str]:  # noqa: ANN001
    """Serve the app from a real HTTP server thread on a free loopback port."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}"
    server.shutdown()
    thread.join(5)
