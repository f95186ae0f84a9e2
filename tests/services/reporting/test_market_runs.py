"""Reporting across a market run's close: the frozen report of the closed run, and no
snapshot stored across a rewind (on a real SQLite file, paper trading's rows booked by its
code)."""
from __future__ import annotations

import json
from datetime import timedelta

import pytest

from services.paper_trading.adapters.archive import archive_run, fence
from services.reporting import runs
from services.reporting.service import ReportingService
from shared.errors import NotFound, ServiceUnavailable
from tests.services.reporting.factories import T0, fill
from tests.services.reporting.paper_book import book, open_account
from tests.services.reporting.test_service import Market


def _dumps(obj: object) -> str:
    return json.dumps(obj, default=str)


@pytest.fixture
def svc(settings, db) -> ReportingService:  # noqa: ANN001
    market = Market()
    market.now = T0 + timedelta(minutes=30)
    return ReportingService(settings, db, clock=lambda: market.now, prices=market.price,
                            bars=market.bars)


def _switch(db, run: int) -> None:  # noqa: ANN001
    """Paper trading's side of a new run (its own code, on its own transaction)."""
    with db.transaction() as conn:
        archive_run(conn, run, T0.isoformat())


def test_a_closed_run_is_frozen_once_and_read_back(svc, db) -> None:  # noqa: ANN001
    open_account(db)
    book(db, [fill(0, "buy", "10", "100", "1.00", order="a"),
              fill(5, "sell", "10", "101", "1.00", order="b")])
    summary = svc.summary()
    out = runs.close_run(svc, 1, _dumps)
    with db.transaction() as conn:
        assert out["fence"] == fence(conn) and out["accounts"] == [1] and not out["kept"]
    _switch(db, 1)
    assert svc.summary()["trades"] == 0  # the live report is run 2's, empty
    frozen = runs.frozen(db, 1, 1, "summary")
    assert frozen == json.loads(_dumps(summary)) and frozen["trades"] == 1
    # a retried rewind after paper trading moved on keeps what was frozen
    assert runs.close_run(svc, 1, _dumps)["kept"]
    assert runs.frozen(db, 1, 1, "summary") == frozen
    assert runs.closed_runs(db) == {"current": 2, "closed": [
        {"run": 1, "closed_at": runs.closed_runs(db)["closed"][0]["closed_at"],
         "accounts": [{"account": 1, "epoch": 0}]}]}
    with pytest.raises(NotFound):
        runs.frozen(db, 5, 1, "summary")


def test_no_snapshot_across_a_rewind(svc, db) -> None:  # noqa: ANN001
    open_account(db)
    with db.transaction() as conn:
        runs.check_snapshot(conn, 1, 0, None)
        runs.check_snapshot(conn, 1, 0, 1)
        with pytest.raises(ServiceUnavailable):  # "now" from the clock of another run
            runs.check_snapshot(conn, 1, 0, 2)
    _switch(db, 1)  # the books in run 2, the clock still in run 1
    with pytest.raises(ServiceUnavailable):
        svc.snapshot()
    with db.transaction() as conn:
        conn.execute("INSERT INTO market_clock (id, mode, pace, speed, updated_at, updated_by, "
                     "run) VALUES (1, 'replay', 'step', 1, 'x', 'test', 2)")
        with pytest.raises(ServiceUnavailable):  # figures read in the closed run's epoch
            runs.check_snapshot(conn, 1, 0, 2)
    assert svc.snapshot()["epoch"] == 1
