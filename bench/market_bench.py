"""Market-data benchmark: generate + store one session for 500 symbols, and read latencies.

Prints: seconds to generate and store one session of one-minute bars for 500 symbols
(195,000 bars), rows/s stored, and the latency of ``get_historical_data`` for one symbol-day
from the database and from the memory cache, next to a same-run baseline (plain
``executemany`` of the same rows, and a bare primary-key range read).
Targets: the session in under 5 s; a cached read under 1 ms.

    python bench/market_bench.py [--symbols 500] [--repeat 5]
"""
from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from shared.config import load_settings  # noqa: E402
from shared.db import Database, migrate  # noqa: E402
from shared.market import ClockController, DataManager  # noqa: E402

SESSIONS = ["2024-03-04", "2024-03-05", "2024-03-06", "2024-03-07", "2024-03-08"]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--repeat", type=int, default=5)
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="market_bench_"))
    settings = load_settings(None, {}, database__path=str(tmp / "bench.db"),
                             logging__dir=str(tmp / "logs"), market__universe_size=args.symbols,
                             market__data_cache_dir=str(tmp / "data-cache"))
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max")
    ctl.advance("2024-03-09T00:00Z")
    dm = DataManager(settings, db)
    dm.ensure_universe()
    syms = [s for s, i in dm.universe.items() if i.asset_class == "equity"]
    sim = dm.providers.get("simulated")

    gen_s, store_s, total_s, rows = [], [], [], 0
    for i in range(args.repeat):
        session = SESSIONS[i % len(SESSIONS)]
        t0 = time.perf_counter()
        arr = sim.generate_session(session, syms)
        t1 = time.perf_counter()
        rows = dm.ingest_session(session, syms)  # generates again, validates, stores
        t2 = time.perf_counter()
        gen_s.append(t1 - t0)
        total_s.append(t2 - t1)
        store_s.append((t2 - t1) - (t1 - t0))
    del arr

    # baseline: plain executemany of the same number of rows into a bare table, same run
    conn = db.get_db_connection()
    conn.execute("CREATE TABLE IF NOT EXISTS base (a TEXT, b TEXT, c TEXT, d INT, e INT, f INT, "
                 "g INT, h INT, PRIMARY KEY (a, b, c)) WITHOUT ROWID")
    data = [(f"S{k // 390}", "1m", f"t{k % 390:04d}", k, k, k, k, k) for k in range(rows)]
    t0 = time.perf_counter()
    with db.transaction("base"):
        conn.executemany("INSERT OR REPLACE INTO base VALUES (?, ?, ?, ?, ?, ?, ?, ?)", data)
    base_s = time.perf_counter() - t0

    sym = syms[len(syms) // 2]
    day = ("2024-03-05T00:00Z", "2024-03-06T00:00Z")
    db_lat, mem_lat, raw_lat = [], [], []
    for _ in range(50):
        dm.memory.clear()
        t0 = time.perf_counter()
        df = dm.get_historical_data(sym, "1m", *day)
        db_lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        dm.get_historical_data(sym, "1m", *day)
        mem_lat.append(time.perf_counter() - t0)
        t0 = time.perf_counter()
        conn.execute("SELECT * FROM bars WHERE symbol = ? AND timeframe = '1m' AND ts >= ? "
                     "AND ts < ?", (sym, "2024-03-05", "2024-03-06")).fetchall()
        raw_lat.append(time.perf_counter() - t0)
    assert len(df) == 390

    med = statistics.median
    total = med(total_s)
    print(f"symbols: {len(syms)}  bars per session: {rows:,}  repeats: {args.repeat}")
    print(f"generate one session (numpy, {len(syms)} x 390): {med(gen_s):.3f} s (median)")
    print(f"generate + validate + store one session: {total:.3f} s (median; first run "
          f"{total_s[0]:.3f} s)  target < 5 s: {'OK' if total < 5 else 'MISSED'}")
    print(f"rows/s stored (end to end): {rows / total:,.0f}")
    print(f"baseline executemany of {rows:,} plain rows: {base_s:.3f} s = {rows / base_s:,.0f} "
          f"rows/s; ours/baseline time = {total / base_s:.2f}x")
    print(f"get_historical_data one symbol-day from the database: {med(db_lat) * 1000:.3f} ms "
          f"(p90 {sorted(db_lat)[44] * 1000:.3f} ms); raw SQL read {med(raw_lat) * 1000:.3f} ms")
    print(f"get_historical_data one symbol-day from the memory cache: {med(mem_lat) * 1000:.3f} "
          f"ms  target < 1 ms: {'OK' if med(mem_lat) < 0.001 else 'MISSED'}")
    dm.close()
    db.close()


if __name__ == "__main__":
    main()
