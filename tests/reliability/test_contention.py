"""All the representative writers at full rate on one database for a bounded time (CI: 10 s).

No lock error may reach a caller; the p50/p99 latency of each write and the lock retries
(``Database.stats``) are printed.  ``bench/contention_bench.py`` runs the same for 60 s.
"""
from __future__ import annotations

import sqlite3

import pytest

from tests.reliability.writers import WRITERS, report, run_contention

pytestmark = pytest.mark.slow
SECONDS = 10.0


def test_concurrent_writers_never_surface_a_lock_error(tmp_path):
    results = run_contention(tmp_path, SECONDS)
    print("\n" + report(results, SECONDS))
    assert {r["name"] for r in results} == set(WRITERS)
    for r in results:
        assert r["errors"] == [], (r["name"], r["errors"][:3])
        assert len(r["latencies"]) > 0, r["name"]
        # every call must have written: a writer answering 4xx would prove nothing
        assert all(200 <= code < 300 for code in r["statuses"]), (r["name"], r["statuses"])
    with sqlite3.connect(tmp_path / "trading.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
