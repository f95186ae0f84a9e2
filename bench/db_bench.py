"""Rows/s through DatabaseServiceMixin vs raw sqlite3, one-row transactions and bulk inserts.

Run: ``.venv/bin/python bench/db_bench.py [--rows N]``.  Both sides write the same orders-like
row (unique text key) into a fresh WAL file with the same pragmas; each figure is the median of
several warm repetitions so the ratios hold on a noisy machine.
"""
from __future__ import annotations

import argparse
import sqlite3
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.db import Database, DatabaseServiceMixin  # noqa: E402

DDL = """CREATE TABLE IF NOT EXISTS orders_bench (
    id INTEGER PRIMARY KEY, client_order_id TEXT NOT NULL UNIQUE, symbol TEXT NOT NULL,
    side TEXT NOT NULL, qty_micros INTEGER NOT NULL, limit_price_micros INTEGER,
    status TEXT NOT NULL, created_at TEXT NOT NULL)"""
SQL = ("INSERT INTO orders_bench (client_order_id, symbol, side, qty_micros, limit_price_micros,"
       " status, created_at) VALUES (?, ?, ?, ?, ?, ?, ?)")


def rows(n: int) -> list[tuple]:
    return [(uuid.uuid4().hex, "AAPL", "buy", 10_000_000, 185_070_000, "new",
             "2024-01-02T15:00:00+00:00") for _ in range(n)]


def raw_conn(path: Path) -> sqlite3.Connection:
    c = sqlite3.connect(str(path), isolation_level=None)
    for p in ("journal_mode=WAL", "synchronous=NORMAL", "cache_size=-64000",
              "busy_timeout=30000", "foreign_keys=ON"):
        c.execute(f"PRAGMA {p}")
    return c


def raw_single(path: Path, data: list[tuple]) -> float:
    c = raw_conn(path)
    t0 = time.perf_counter()
    for r in data:
        c.execute("BEGIN IMMEDIATE")
        c.execute(SQL, r)
        c.execute("COMMIT")
    dt = time.perf_counter() - t0
    c.close()
    return len(data) / dt


def raw_bulk(path: Path, data: list[tuple]) -> float:
    c = raw_conn(path)
    t0 = time.perf_counter()
    c.execute("BEGIN IMMEDIATE")
    c.executemany(SQL, data)
    c.execute("COMMIT")
    dt = time.perf_counter() - t0
    c.close()
    return len(data) / dt


class Svc(DatabaseServiceMixin):
    def __init__(self, path: Path) -> None:
        self.init_database(Database(path))


def mixin_single(path: Path, data: list[tuple]) -> float:
    svc = Svc(path)
    t0 = time.perf_counter()
    for r in data:
        with svc.transaction() as conn:
            conn.execute(SQL, r)
    dt = time.perf_counter() - t0
    svc.db.close()
    return len(data) / dt


def mixin_bulk(path: Path, data: list[tuple]) -> float:
    svc = Svc(path)
    cols = ["client_order_id", "symbol", "side", "qty_micros", "limit_price_micros", "status",
            "created_at"]
    t0 = time.perf_counter()
    svc.bulk_insert_with_transaction("orders_bench", data, cols)
    dt = time.perf_counter() - t0
    svc.db.close()
    return len(data) / dt


def measure_pair(raw_fn, mixin_fn, n: int, reps: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Return the median rows/s of each side, running them in alternation so that the
    machine's load drift (these machines are shared) falls on both alike."""
    results: dict[str, list[float]] = {"raw": [], "mixin": []}
    for _ in range(reps):
        for side, fn in (("raw", raw_fn), ("mixin", mixin_fn)):
            with tempfile.TemporaryDirectory() as d:
                path = Path(d) / "bench.db"
                c = raw_conn(path)
                c.execute(DDL)
                c.close()
                results[side].append(fn(path, rows(n)))
    return statistics.median(results["raw"]), statistics.median(results["mixin"])


def main() -> None:
    import logging

    logging.getLogger("database_operations").addHandler(logging.NullHandler())
    logging.getLogger("database_operations").propagate = False
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--rows", type=int, default=20_000, help="rows per one-row run")
    ap.add_argument("--bulk-rows", type=int, default=200_000)
    ap.add_argument("--reps", type=int, default=5)
    a = ap.parse_args()
    single_raw, single_mix = measure_pair(raw_single, mixin_single, a.rows, a.reps)
    bulk_raw, bulk_mix = measure_pair(raw_bulk, mixin_bulk, a.bulk_rows, a.reps)
    print(f"one-row BEGIN IMMEDIATE transactions ({a.rows} rows, median of {a.reps}):")
    print(f"  raw sqlite3   {single_raw:>10,.0f} rows/s")
    print(f"  mixin         {single_mix:>10,.0f} rows/s   ratio {single_mix / single_raw:.2f}x "
          "(target >= 0.80x)")
    print(f"bulk executemany in one transaction ({a.bulk_rows} rows):")
    print(f"  raw sqlite3   {bulk_raw:>10,.0f} rows/s")
    print(f"  mixin         {bulk_mix:>10,.0f} rows/s   ratio {bulk_mix / bulk_raw:.2f}x "
          "(target >= 0.80x)")
    print(f"mixin bulk / mixin one-row: {bulk_mix / single_mix:.1f}x (target >= 5x)")


if __name__ == "__main__":
    main()
