"""Order submission through HTTP under gunicorn vs a one-row-insert baseline; 10k-order sweep.

Run: ``.venv/bin/python bench/orders_bench.py [--requests N] [--clients 16] [--workers 4]``.

Part 1 starts the paper trading app and a minimal Flask app that inserts one row into the same
SQLite file, each under gunicorn with the same sync workers, and drives both with the same 16
keep-alive client threads in alternating rounds: orders/s and p50/p99 latency, and the ratio
(target >= 0.5x, p99 < 50 ms).  Part 2 puts 10,000 open limit orders on one symbol and times the sweep of one new
bar: the vectorised pre-screen alone, the whole ``process_until`` (DB read, screen, write), and
as the baseline the exact Decimal rules run over every order one by one (target < 50 ms).

``--backend postgresql|both [--workers 4 8]`` (issue 21) replaces part 1 by the same order load
on each backend: for each worker count, the baseline (its one-row insert on that backend) and
paper trading (buffered worker) on SQLite and on a throw-away PostgreSQL cluster (tests/pg.py's),
all four alternated round by round, printed side by side with the PostgreSQL/SQLite ratios and
which wins where; server CPU counts the cluster's processes too.  Part 2 stays on SQLite.
"""
from __future__ import annotations

import argparse
import http.client
import json
import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench._backends import (  # noqa: E402
    backend_env,
    chosen,
    cluster,
    cluster_cpu,
    load_average,
    ratio,
)
from bench.baseline import DDL as BASELINE_DDL  # noqa: E402
from bench.baseline import PG_DDL as BASELINE_PG_DDL  # noqa: E402
from bench.harness import pct, start  # noqa: E402


def drive(port: int, path: str, n: int, clients: int, body: dict) -> tuple[float, list[float]]:
    """Send ``n`` POSTs from ``clients`` keep-alive threads; return (req/s, latencies in s)."""
    lat: list[float] = []
    errors: list[str] = []
    lock = threading.Lock()
    per = n // clients

    def worker(i: int) -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        # each client is a bot with its own key id: four paper accounts (created on first use)
        # and the automation's trade side by side, as they do in the suite
        key = "automation" if i % 5 == 4 else f"bench-bot-{i % 5}"
        headers = {"Content-Type": "application/json", "APCA-API-KEY-ID": key}
        mine = []
        for _ in range(per):
            payload = json.dumps({**body, "client_order_id": uuid.uuid4().hex})
            t0 = time.perf_counter()
            c.request("POST", path, payload, headers)
            r = c.getresponse()
            r.read()
            mine.append(time.perf_counter() - t0)
            if r.status >= 300:
                errors.append(str(r.status))
        with lock:
            lat.extend(mine)

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    dt = time.perf_counter() - t0
    if errors:
        raise RuntimeError(f"{len(errors)} failed requests, e.g. {errors[:3]}")
    return len(lat) / dt, lat


def server_cpu(proc: subprocess.Popen) -> float:
    """Return the CPU seconds (user + system) used so far by a gunicorn master's workers.

    Per-request server CPU is what our code controls; unlike req/s it barely moves with the
    load other processes put on a shared machine.
    """
    import psutil

    total = 0.0
    for child in psutil.Process(proc.pid).children(recursive=True):
        try:
            t = child.cpu_times()
        except psutil.NoSuchProcess:
            continue
        total += t.user + t.system
    return total


ORDER = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": 1, "limit_price": 10,
         "time_in_force": "gtc"}
BASELINE = "bench.baseline:baseline_app()"
PAPER = "services.paper_trading:create_app()"
# the suite serves paper trading on the buffered worker (requests read whole on a loop:
# shared.web.worker); the sync row is the same app on gunicorn's own sync worker
BUFFERED = "shared.web.worker.BufferedWorker"


def order_env(tmp: Path, backend: str = "sqlite", url: str | None = None) -> dict[str, str]:
    """Return the servers' environment for one backend (a SQLite file in ``tmp`` or ``url``)."""
    # The rate limiter stays in the path (its cost is part of a submission) but cannot bind:
    # the default 300/s per worker is a per-client safety net that one client sending as fast
    # as it can would otherwise hit at about 1,200 orders/s over 4 workers (429s end the run).
    env = {**os.environ, "LOG_DIR": str(tmp / "logs"), "TRADING_ENV": "test",
           "TRADING__PAPER_TRADING__PROCESS_ON_REQUEST": "false",
           "TRADING__SECURITY__RATE_LIMIT": "1000000 per second"}
    env.pop("API_KEY", None)
    return backend_env(env, backend, tmp / "bench.db", url)


def prepare(env: dict[str, str]) -> None:
    """Migrate the backend ``env`` names and add what the order load needs."""
    from shared.config import load_settings
    from shared.db import Database, migrate
    from shared.market import ClockController

    s = load_settings(environ=env)
    db = Database.from_settings(s)
    migrate(db)
    db.execute_with_retry(BASELINE_PG_DDL if "DATABASE_URL" in env else BASELINE_DDL)
    # the running suite has a clock row (coordination writes it at start); without one every
    # MarketClock read rebuilds the default state from the calendar
    ClockController(db, s.market.clock).reset(paused=True)
    # orders name a symbol the market lists (the market's owner stores the symbols table)
    db.execute_with_retry(
        "INSERT OR IGNORE INTO symbols (symbol, name, sector, asset_class, exchange, source, "
        "updated_at) VALUES ('AAPL', 'Apple', 'Technology', 'equity', 'NASDAQ', 'bench', "
        "'2024-01-01T00:00:00+00:00')")
    db.close()


def measure(targets: dict[str, tuple[str, str, str, dict[str, str], Any]], workers: int,
            args: argparse.Namespace) -> dict[str, tuple[float, float, float, float]]:
    """Serve every target (app, path, worker class, env, PostgreSQL cluster or None) under
    gunicorn with ``workers`` workers and drive them in alternating rounds; return each one's
    (req/s, p50 ms, p99 ms, server CPU us per request: its workers, plus the cluster's server
    processes on PostgreSQL)."""
    servers = {name: start(app, env, workers, kind)
               for name, (app, _p, kind, env, _pg) in targets.items()}
    # The machine is shared: load drifts over seconds, so the apps are driven in alternating
    # rounds and each figure pools its rounds (all see the same drift).
    lats: dict[str, list[float]] = {name: [] for name in targets}
    secs: dict[str, float] = dict.fromkeys(targets, 0.0)
    cpu: dict[str, float] = dict.fromkeys(targets, 0.0)
    per_round = max(args.clients, args.requests // args.rounds)
    try:
        for name, (_, path, _k, _e, _pg) in targets.items():
            drive(servers[name][1], path, args.clients * 10, args.clients, ORDER)  # warm up
        for _ in range(args.rounds):
            for name, (_, path, _k, _e, pg) in targets.items():
                c0 = server_cpu(servers[name][0]) + cluster_cpu(pg)
                rps, lat = drive(servers[name][1], path, per_round, args.clients, ORDER)
                cpu[name] += server_cpu(servers[name][0]) + cluster_cpu(pg) - c0
                lats[name].extend(lat)
                secs[name] += len(lat) / rps
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(10)
    return {name: (len(lat) / secs[name], pct(lat, 0.5), pct(lat, 0.99),
                   cpu[name] / len(lat) * 1e6) for name, lat in lats.items()}


def http_part(args: argparse.Namespace, tmp: Path) -> None:
    env = order_env(tmp)
    prepare(env)
    workers = args.workers[0] if args.workers else 4
    targets = {
        "baseline (Flask + gunicorn, one-row insert)": (BASELINE, "/write", "sync", env, None),
        "paper_trading POST /v2/orders (buffered)": (PAPER, "/v2/orders", BUFFERED, env, None),
        "paper_trading POST /v2/orders (sync)": (PAPER, "/v2/orders", "sync", env, None),
    }
    results = measure(targets, workers, args)
    n = max(args.clients, args.requests // args.rounds) * args.rounds
    for name, (rps, p50, p99, cpu) in results.items():
        print(f"{name:48s} {rps:8.0f} req/s   p50 {p50:6.1f} ms   p99 {p99:6.1f} ms   "
              f"server CPU {cpu:5.0f} us/req   ({n} requests in {args.rounds} rounds)")
    (b, _, b99, bcpu), (p, _, p99, pcpu), (q, _, q99, qcpu) = results.values()
    print(f"throughput ratio paper (buffered)/baseline: {p / b:.2f}x (target >= 0.6x); "
          f"p99 {p99:.1f} ms (target < 50 ms; the baseline's own p99 {b99:.1f} ms); "
          f"server CPU per request paper/baseline {pcpu / bcpu:.2f}x")
    print(f"buffered/sync worker, same app: throughput {p / q:.2f}x, p99 {p99:.1f} vs "
          f"{q99:.1f} ms, server CPU per request {pcpu / qcpu:.2f}x")


WHY = (
    "why: SQLite is a library call inside the worker (no network round trip, no server "
    "process, each statement of an order costs microseconds) but lets one writer in "
    "at a time (the file's write lock), so more workers only queue for it; PostgreSQL answers "
    "each statement over a loopback socket from a server process (a round trip and a context "
    "switch each, its CPU counted above) and lets writers run side by side under row locks, "
    "which the baseline's plain inserts use; the suite's write transactions take one "
    "advisory lock (shared.db.dialect.BEGIN_WRITE, SQLite's single writer, which the order "
    "intake's read-decide-write relies on), so order submissions still commit one at a time.",
    "  PostgreSQL's gain is elsewhere: one database for services on several hosts, and "
    "readers that never wait on the writer's file; on one 2-core machine both backends "
    "share the same cores, so the server processes' CPU comes out of the workers' share.",
)


def backends_part(args: argparse.Namespace, tmp: Path) -> None:
    """The same order load on each chosen backend at each worker count, side by side."""
    names = chosen(args.backend)
    workers_list = args.workers or [4, 8]
    rows: dict[tuple[str, int, str], tuple[float, float, float, float]] = {}
    with cluster("postgresql" in names) as pg:
        for workers in workers_list:
            targets = {}
            for backend in names:
                url = pg.create_database(migrated=False) if pg and backend == "postgresql" \
                    else None
                env = order_env(tmp / f"{backend}-{workers}", backend, url)
                prepare(env)
                on = pg if backend == "postgresql" else None
                targets[f"{backend}|baseline"] = (BASELINE, "/write", "sync", env, on)
                targets[f"{backend}|paper"] = (PAPER, "/v2/orders", BUFFERED, env, on)
            for name, res in measure(targets, workers, args).items():
                backend, what = name.split("|")
                rows[(backend, workers, what)] = res
    n = max(args.clients, args.requests // args.rounds) * args.rounds
    label = {"baseline": "baseline one-row insert", "paper": "paper_trading POST /v2/orders"}
    print(f"orders by backend: {args.clients} keep-alive clients, {n} requests per row in "
          f"{args.rounds} rounds, every row of a worker count alternated in the same run; "
          f"{load_average()} at the end")
    for workers in workers_list:
        print(f"-- {workers} gunicorn workers --")
        for what in ("baseline", "paper"):
            cells = []
            for backend in names:
                rps, p50, p99, cpu = rows[(backend, workers, what)]
                cells.append(f"{backend:10s} {rps:6.0f} req/s p50 {p50:6.1f} p99 {p99:6.1f} ms "
                             f"CPU {cpu:5.0f} us/req")
            print(f"  {label[what]:30s} " + "  |  ".join(cells))
            if len(names) == 2:
                lite, pgr = rows[("sqlite", workers, what)], rows[("postgresql", workers, what)]
                winner = "PostgreSQL" if pgr[0] > lite[0] else "SQLite"
                print(f"  {'':30s} PostgreSQL/SQLite: throughput {ratio(pgr[0], lite[0])}, "
                      f"p99 {ratio(pgr[2], lite[2])}, CPU per request {ratio(pgr[3], lite[3])}"
                      f" -> {winner} wins")
        for backend in names:
            b, p = rows[(backend, workers, "baseline")], rows[(backend, workers, "paper")]
            print(f"  {backend}: paper/baseline throughput {ratio(p[0], b[0])}")
    if len(workers_list) > 1:
        lo, hi = workers_list[0], workers_list[-1]
        for backend in names:
            scale = ", ".join(
                f"{label[w]} {ratio(rows[(backend, hi, w)][0], rows[(backend, lo, w)][0])}"
                for w in ("baseline", "paper"))
            print(f"{backend}: {hi} vs {lo} workers: {scale}")
    print("CPU = the gunicorn workers' CPU, plus on PostgreSQL the cluster's server "
          "processes during the same round, per request")
    if len(names) == 2:
        print(*WHY, sep="\n")


def sweep_part(tmp: Path, n: int = 10_000) -> None:
    import numpy as np

    from services.paper_trading.adapters.repository import Repository
    from services.paper_trading.service_layer.service import PaperTradingService, asset_id_for
    from shared.db import Database, migrate
    from shared.domain.money import to_micros
    from shared.trading import Bar, Costs, OrderState, OrderType, Side, evaluate
    from shared.trading.book import candidate_mask
    from shared.trading.records import OrderRecord, bar_iso
    from tests.conftest import make_settings

    open_ = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)
    s = make_settings(tmp / "sweep")
    db = Database.from_settings(s)
    migrate(db)
    clock_t = [open_ + timedelta(minutes=1)]
    svc = PaperTradingService(s, database=db, now=lambda: clock_t[0])
    rng = np.random.default_rng(1)
    prices = (rng.integers(9000, 9900, n) / 100).tolist()  # buy limits below the market
    t = clock_t[0]
    svc.ensure_accounts()
    with svc.unit_of_work() as uow:
        repo = Repository(uow.conn)
        for px in prices:
            repo.insert_order(OrderRecord(
                id=str(uuid.uuid4()), client_order_id=uuid.uuid4().hex, symbol="AAPL",
                asset_id=asset_id_for("AAPL"), side="buy", type="limit", time_in_force="gtc",
                order_class="simple", status="new", active_from=bar_iso(t), created_at=t,
                updated_at=t, submitted_at=t, qty=Decimal(1), limit_price=Decimal(str(px))))
        uow.commit()
    rows = [("AAPL", "1m", (open_ + timedelta(minutes=1 + i)).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
             100_000_000, 101_000_000, 99_500_000, 100_500_000, 10_000, None, None, "bench")
            for i in range(20)]
    db.bulk_insert_with_transaction("bars", rows, ["symbol", "timeframe", "ts", "open_micros",
                                                   "high_micros", "low_micros", "close_micros",
                                                   "volume", "vwap_micros", "trade_count",
                                                   "source"])
    full = []
    for i in range(10):  # one new bar per sweep, 10 sweeps
        clock_t[0] = open_ + timedelta(minutes=2 + i)
        t0 = time.perf_counter()
        stats = svc.process_until()
        full.append(time.perf_counter() - t0)
        assert stats["bars"] == 1 and stats["fills"] == 0, stats
    limit = np.array([to_micros(p) for p in prices], dtype=np.int64)
    is_buy = np.ones(n, bool)
    types = np.ones(n, np.int8)
    zeros = np.zeros(n, np.int64)
    falses = np.zeros(n, bool)
    screen = []
    for _ in range(50):
        t0 = time.perf_counter()
        candidate_mask(101_000_000, 99_500_000, is_buy, types, limit, zeros, falses, falses)
        screen.append(time.perf_counter() - t0)
    bar = Bar(open_, Decimal(100), Decimal(101), Decimal("99.5"), Decimal("100.5"), 10_000)
    states = [OrderState(Side.BUY, OrderType.LIMIT, remaining=Decimal(1),
                         limit=Decimal(str(p))) for p in prices]
    naive = []
    for _ in range(3):
        t0 = time.perf_counter()
        for st in states:
            evaluate(st, bar, Costs())
        naive.append(time.perf_counter() - t0)
    m_full, m_screen, m_naive = (statistics.median(x) * 1000 for x in (full, screen, naive))
    print(f"{n} open orders vs one new bar: process_until (screen + bar read + write) "
          f"{m_full:.1f} ms median of 10 (target < 50 ms); the first sweep, which also loads "
          f"the book from SQLite, {full[0] * 1000:.1f} ms")
    print(f"  vectorised pre-screen alone {m_screen:.3f} ms; baseline exact Decimal rules one "
          f"by one {m_naive:.1f} ms ({m_naive / m_screen:.0f}x slower than the screen)")
    db.close()


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--requests", type=int, default=4000)
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, nargs="+", default=None,
                    help="gunicorn workers (default 4; with --backend postgresql/both: 4 8)")
    ap.add_argument("--backend", choices=("sqlite", "postgresql", "both"), default="sqlite",
                    help="sqlite (one worker count): today's three rows; postgresql, both or "
                         "several --workers: baseline and paper trading on each backend at "
                         "each worker count, side by side (a throw-away PostgreSQL cluster)")
    ap.add_argument("--rounds", type=int, default=4, help="alternating baseline/paper rounds")
    ap.add_argument("--skip-http", action="store_true")
    ap.add_argument("--skip-sweep", action="store_true")
    args = ap.parse_args()
    # the migrations' statements run slow on a loaded machine; their warnings are not figures
    logging.getLogger("database_operations").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        if not args.skip_http:
            if args.backend == "sqlite" and len(args.workers or [4]) == 1:
                http_part(args, tmp)
            else:
                backends_part(args, tmp)
        if not args.skip_sweep:
            sweep_part(tmp)


if __name__ == "__main__":
    main()
