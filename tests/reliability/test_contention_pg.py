"""test_contention.py's writers and checks with every writer on one PostgreSQL database.

Eight processes (paper trading's orders, news, reporting's snapshots, technical analysis,
candlestick and chart-pattern scans, the scanner, coordination's strategy changes), each
through its service's ``create_app`` on ``database.url`` (a fresh migrated database of the
throw-away cluster, tests/pg.py), write as fast as they can at once: no 5xx, no lock,
deadlock or serialization failure reaches a client, every call is a 2xx, every row a 2xx
answer named is stored once, and amcheck finds the heap and every index sound.  The writers
serialize on the suite's advisory write lock (shared/db/dialect.py), so a conflict would show
as a wait (p99, max) and, past ``lock_timeout``, as a retried 55P03 (``retries``), never as an
error.  5 s of load (SQLite's module: 10 s): each writer makes 10-50 calls (machine load).
"""
from __future__ import annotations

import pytest

from tests.pg import PgCluster
from tests.reliability.test_contention import check_contention
from tests.reliability.writers import report, run_contention

pytestmark = pytest.mark.slow
SECONDS = 5.0


def test_concurrent_writers_never_surface_a_lock_error_on_postgresql(tmp_path,
                                                                    pg_cluster: PgCluster):
    url = pg_cluster.create_database()
    results = run_contention(tmp_path, SECONDS, database__url=url)
    print("\n" + report(results, SECONDS))
    assert not (tmp_path / "trading.db").exists()  # every writer was on PostgreSQL
    check_contention(results, url)
