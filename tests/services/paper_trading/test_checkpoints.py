"""WAL checkpoints of the paper trading writers run after the writer gate, not inside a commit."""
from __future__ import annotations

import sqlite3
from datetime import timedelta
from pathlib import Path

from services.paper_trading.adapters.gate import Checkpoints
from services.paper_trading.service_layer.service import PaperTradingService
from shared.db import Database, migrate
from shared.trading.schemas import OrderRequest
from tests.conftest import make_settings
from tests.services.paper_trading.helpers import OPEN, Clock, flat, seed_bars


def test_every_nth_unit_of_work_checkpoints_the_wal(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    conn.execute("CREATE TABLE t (x INTEGER)")
    conn.execute("PRAGMA wal_autocheckpoint=20000")  # the suite's backstop (Database sets it)
    cp = Checkpoints(every=3)
    ran = []
    for i in range(6):
        conn.execute("INSERT INTO t VALUES (?)", (i,))
        ran.append(cp.after_commit(conn))
    assert ran == [False, False, True, False, False, True]
    row = conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    assert row[0] == 0 and row[1] == row[2]  # everything written is back in the database file


def test_zero_runs_none_of_its_own(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "w.db", isolation_level=None)
    conn.execute("PRAGMA journal_mode=WAL")
    cp = Checkpoints(every=0)
    assert not any(cp.after_commit(conn) for _ in range(5))


def test_service_checkpoints_outside_the_gate_and_the_transaction(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, paper_trading__wal_checkpoint_every=2)
    db = Database.from_settings(settings)
    migrate(db)
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    svc = PaperTradingService(settings, database=db, now=Clock(OPEN + timedelta(minutes=2)))
    seen: list[tuple[int, bool, bool]] = []
    real = svc.checkpoints.after_commit

    def spy(conn: sqlite3.Connection) -> bool:
        ran = real(conn)
        seen.append((svc.gate._depth, conn.in_transaction, ran))
        return ran

    svc.checkpoints.after_commit = spy  # type: ignore[method-assign]
    for _ in range(4):
        svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=1, type="limit",
                                      limit_price=99, time_in_force="gtc"))
    assert [ran for *_, ran in seen] == [False, True, False, True]
    assert all(depth == 0 and not in_tx for depth, in_tx, _ in seen)  # gate free, committed
    assert len(svc.list_orders(status="open")) == 4
    db.close()
