"""All the representative writers at full rate on one database for a bounded time (CI: 10 s).

No lock error may reach a caller, every call writes (2xx), and every row a 2xx answer named
is stored, once; the p50/p99 latency of each write and the lock retries (``Database.stats``)
are printed.  ``bench/contention_bench.py`` runs the same for 60 s; test_contention_pg.py
runs the same checks with every writer on PostgreSQL.
"""
from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.reliability.dbread import integrity_problems, snapshot
from tests.reliability.writers import CREATES, WRITERS, report, run_contention

pytestmark = pytest.mark.slow
SECONDS = 10.0


def check_contention(results: list[dict[str, Any]], database: str | Path) -> None:
    """Assert what concurrent writers must keep on either engine (``database``: a SQLite
    file's path or a ``postgresql://`` URL)."""
    assert {r["name"] for r in results} == set(WRITERS)
    for r in results:
        assert r["errors"] == [], (r["name"], r["errors"][:3])
        assert len(r["latencies"]) > 0, r["name"]
        # every call must have written: a writer answering 4xx would prove nothing
        assert all(200 <= code < 300 for code in r["statuses"]), (r["name"], r["statuses"])
    # nothing lost: every row a 2xx answer named is stored, and no two answers named one row
    with snapshot(database) as rows:
        for r in results:
            if r["name"] not in CREATES:
                continue
            ids = r["ids"]
            assert len(ids) == len(r["latencies"]) and None not in ids, r["name"]
            assert len(set(ids)) == len(ids), r["name"]
            table = CREATES[r["name"]]
            stored = {row["id"] for row in rows(f"SELECT id FROM {table}")}  # noqa: S608
            assert set(ids) <= stored, (r["name"], sorted(set(ids) - stored)[:5])
    assert integrity_problems(database) == []


def test_concurrent_writers_never_surface_a_lock_error(tmp_path):
    results = run_contention(tmp_path, SECONDS)
    print("\n" + report(results, SECONDS))
    check_contention(results, tmp_path / "trading.db")
