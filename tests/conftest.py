"""Fixtures shared by every test: settings on a temp directory and a migrated real SQLite file."""
from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from shared.config import Settings, load_settings
from shared.db import Database, migrate

# the throw-away PostgreSQL cluster: fixtures pg_cluster (session) and pg_url (module)
pytest_plugins = ["tests.pg"]


def make_settings(tmp_path: Path, **overrides: object) -> Settings:
    """Return default settings pointed at ``tmp_path`` (database, logs, data cache)."""
    base = {
        "env": "test",
        "database__path": str(tmp_path / "trading.db"),
        "logging__dir": str(tmp_path / "logs"),
    }
    base.update(overrides)
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING__")}
    for var in ("DATABASE_PATH", "DATABASE_URL", "LOG_DIR", "API_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
        env.pop(var, None)
    return load_settings(environ=env, **base)


def replay_market(settings: Settings, db: Database, start: str, end: str,
                  pace: str = "max") -> tuple[Any, Any]:
    """Return (clock controller, data manager) of the built-in market on a fresh replay clock
    from session ``start`` to session ``end``."""
    from shared.market import ClockController, DataManager

    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace=pace, replay_start=start, replay_end=end)
    return ctl, DataManager(settings, db, clock=ctl.clock, owner=True)


def own_market(settings: Settings, db: Database, clock: Any = None, *,
               history_days: dict[str, int] | None = None) -> Any:
    """Store the built-in market up to the clock as the suite's owner (coordination's
    market feed) does, with the history of ``history_days`` (default: none beyond the last
    session); return the feed, whose ``catch_up()`` stores what a moved clock closed."""
    from shared.market import DataManager
    from shared.market.feed import MarketFeed

    dm = DataManager(settings, db, clock=clock, owner=True)
    cfg = settings.market.ingest.model_copy(update={"history_days": history_days or {}})
    feed = MarketFeed(dm, cfg)
    feed.catch_up()
    while feed.backfill_step():
        pass
    return feed


@contextmanager
def serve(app: Any) -> Iterator[str]:
    """Serve ``app`` (a fake of a remote API, or a service) from a thread on a free loopback
    port; yield its base URL."""
    from werkzeug.serving import make_server

    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        thread.join(5)


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path)


@pytest.fixture
def db(settings: Settings) -> Database:
    """A real SQLite file in a temp directory, built from the real migrations."""
    database = Database.from_settings(settings)
    migrate(database)
    yield database
    database.close()
