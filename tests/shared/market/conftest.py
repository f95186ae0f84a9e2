"""Fixtures for the market tests: a migrated DB, a stepped replay clock, a data manager."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings
from shared.db import Database
from shared.market import ClockController, DataManager, get_calendar
from tests.conftest import make_settings


@pytest.fixture(scope="session")
def calendar():
    return get_calendar()


@pytest.fixture
def market_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, market__universe_size=50,
                         market__data_cache_dir=str(tmp_path / "data-cache"),
                         market__csv_paths=[str(tmp_path / "csv")])


@pytest.fixture
def controller(db: Database, market_settings: Settings) -> ClockController:
    ctl = ClockController(db, market_settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max")
    return ctl


@pytest.fixture
def manager(db: Database, market_settings: Settings, controller: ClockController):
    dm = DataManager(market_settings, db, clock=controller.clock, owner=True)  # no stale clock cache
    yield dm
    dm.close()


@contextmanager
def served(app: Any) -> Iterator[str]:
    """Serve a fake of a remote API (a Flask app) on a loopback port; yield its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    t = threading.Thread(target=server.serve_forever, daemon=True)
    t.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        t.join(5)
