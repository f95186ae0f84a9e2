"""Write contention: five services' real write use cases at full rate on one SQLite file.

Run: ``.venv/bin/python bench/contention_bench.py [--seconds 60]``.

One process per writer (paper trading orders, news stories, reporting snapshots, technical
analysis stored signals, candlestick scans), each through its own app and ``Database`` with the
suite's retry policy.  Prints calls/s, p50/p99/max latency and lock retries per writer and in
total, and the baseline: the same number of processes each committing one-row ``BEGIN
IMMEDIATE`` inserts into the same kind of file for the same time.
"""
from __future__ import annotations

import argparse
import multiprocessing as mp
import sqlite3
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.reliability.writers import WRITERS, percentile, report, run_contention  # noqa: E402


def _raw_writer(path: str, seconds: float, start_at: float, out) -> None:  # noqa: ANN001
    c = sqlite3.connect(path, isolation_level=None, timeout=30)
    c.execute("PRAGMA busy_timeout=30000")
    c.execute("PRAGMA synchronous=NORMAL")
    lat = []
    while time.time() < start_at:
        time.sleep(0.005)
    while time.time() < start_at + seconds:
        t0 = time.perf_counter()
        c.execute("BEGIN IMMEDIATE")
        c.execute("INSERT INTO t (v) VALUES (?)", ("x" * 64,))
        c.execute("COMMIT")
        lat.append(time.perf_counter() - t0)
    out.put(lat)


def baseline(tmp: Path, n: int, seconds: float) -> list[float]:
    path = str(tmp / "raw.db")
    c = sqlite3.connect(path, isolation_level=None)
    c.execute("PRAGMA journal_mode=WAL")
    c.execute("CREATE TABLE t (id INTEGER PRIMARY KEY, v TEXT)")
    c.close()
    ctx = mp.get_context("spawn")
    out = ctx.Queue()
    start_at = time.time() + 3
    procs = [ctx.Process(target=_raw_writer, args=(path, seconds, start_at, out))
             for _ in range(n)]
    for p in procs:
        p.start()
    lat = [x for _ in procs for x in out.get(timeout=seconds + 60)]
    for p in procs:
        p.join()
    return lat


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=float, default=60.0)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="contention-bench-"))
    results = run_contention(tmp, args.seconds)
    print(f"{len(WRITERS)} writer processes on one database for {args.seconds:.0f} s "
          "(latency = the whole use case through the app, compute included)")
    print(report(results, args.seconds))
    errors = sum(len(r["errors"]) for r in results)
    print(f"lock errors that reached a caller: {errors}")
    raw = baseline(tmp, len(WRITERS), min(args.seconds, 10.0))
    secs = min(args.seconds, 10.0)
    print(f"baseline: {len(WRITERS)} processes of one-row BEGIN IMMEDIATE inserts, {secs:.0f} s: "
          f"{len(raw) / secs:.0f} commits/s, p50 {percentile(raw, .5) * 1000:.2f} ms, "
          f"p99 {percentile(raw, .99) * 1000:.2f} ms")


if __name__ == "__main__":
    main()
