"""Every service process bounds SQLite's heap (database.soft_heap_mb): a reader's page caches
no longer grow with each stored day, and a tighter limit set by the market owner stays."""
from __future__ import annotations

import sqlite3
from pathlib import Path

from shared.db import Database


def _limit() -> int:
    with sqlite3.connect(":memory:") as c:
        return int(c.execute("PRAGMA soft_heap_limit").fetchone()[0])


def _set(n: int) -> None:
    with sqlite3.connect(":memory:") as c:
        c.execute(f"PRAGMA soft_heap_limit={n}")


def test_a_connection_sets_the_process_limit_and_only_lowers_it(tmp_path: Path) -> None:
    before = _limit()
    try:
        _set(0)
        db = Database(tmp_path / "a.db", soft_heap_mb=48)
        db.fetch_one("SELECT 1 AS one")
        assert _limit() == 48 * 2**20
        _set(16 * 2**20)  # the market owner's tighter bound
        other = Database(tmp_path / "b.db", soft_heap_mb=48)
        other.fetch_one("SELECT 1 AS one")
        assert _limit() == 16 * 2**20
        _set(0)
        Database(tmp_path / "c.db", soft_heap_mb=0).fetch_one("SELECT 1 AS one")
        assert _limit() == 0  # 0 leaves it alone
    finally:
        _set(before)
