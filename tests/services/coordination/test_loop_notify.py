"""The workflow loop on PostgreSQL wakes when the clock row commits (shared.db.notify).

The loop's ``poll_s`` is 3 s here: a clock step's cycle starting well within that came from the
step's NOTIFY, not from the next poll.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from pathlib import Path

import pandas as pd
import pytest

from services.coordination.engine import WorkflowLoop
from services.coordination.service import CoordinationService
from shared.config import Settings
from shared.db import Database
from shared.db import database as _database
from shared.db.postgres import PgDatabase
from tests.conftest import make_settings
from tests.pg import PgCluster
from tests.services.coordination.fakes import FakeGateway

pytestmark = pytest.mark.timeout(60)
POLL_S = 3.0


@pytest.fixture
def settings(tmp_path: Path, pg_cluster: PgCluster) -> Iterator[Settings]:
    url = pg_cluster.create_database()
    yield make_settings(tmp_path, database__url=url, coordination__poll_s=POLL_S)
    for key in [k for k in _database._registry if k == url]:
        _database._registry.pop(key).close()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    assert isinstance(database, PgDatabase)
    yield database
    database.close()


def _runs(svc: CoordinationService) -> int:
    return len(svc.runs(100, None))


def _until(cond, timeout: float) -> float:  # type: ignore[no-untyped-def]
    t0 = time.monotonic()
    while not cond():
        assert time.monotonic() - t0 < timeout, "not in time"
        time.sleep(0.01)
    return time.monotonic() - t0


def test_a_clock_step_starts_the_next_cycle_before_the_poll_would(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = CoordinationService(settings, db, gateway=FakeGateway())
    svc.set_automation("running")
    loop = WorkflowLoop(svc)
    loop.start()
    try:
        _until(lambda: _runs(svc) == 1, 20)  # the first step, at once
        time.sleep(0.3)                       # the loop is asleep in its 3 s wait now
        for n in (2, 3):
            now = svc.clock.now_ts()
            svc.clock_ctl.advance(now + pd.Timedelta(minutes=svc.step_minutes()))
            took = _until(lambda n=n: _runs(svc) == n, 2 * POLL_S)
            assert took < 1.0, f"cycle {n} began {took:.2f} s after the step's commit"
            time.sleep(0.3)
    finally:
        loop.stop()
