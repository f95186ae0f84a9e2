"""Commit -> trade_update latency through the stream server: SQLite's poll vs PostgreSQL's
LISTEN/NOTIFY, in one run.

Run: ``.venv/bin/python bench/notify_bench.py [--samples 40] [--idle-s 10]
[--backend sqlite|postgresql|both]``.

For each variant a fresh database (SQLite file, or a database of the tests' throw-away
PostgreSQL cluster) gets a session of AAPL bars and the clock at the open; the stream server
runs as its real process (``python -m services.paper_trading.streaming``), and this process
is the writer: paper trading's own service object (``PaperTradingService``, the code behind
its REST API) submits an order and later sweeps its fill, each in its one unit of work.  The
figure is from the writer's commit returning to the probe (a websockets client here)
receiving the update, on one clock (``perf_counter``):

- ``sqlite``: the poller polls every ``poll_s`` (10 ms), as it always did.
- ``postgresql poll``: ``listen_fallback_s`` = 10 ms: the PostgreSQL poller waking every
  10 ms as on SQLite (what it did before LISTEN), for comparison.
- ``postgresql listen``: the default: woken by the commit's NOTIFY, at most 1 s apart.

Besides latency: the CPU the stream server's process and (PostgreSQL) the database server used
while ``--idle-s`` seconds passed with a client connected and nothing written.
"""
from __future__ import annotations

import argparse
import sys
import tempfile
import time
from datetime import timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from bench._backends import chosen, cluster, cluster_cpu, load_average, tree_cpu  # noqa: E402
from bench.harness import pct  # noqa: E402
from bench.streams_bench import Probe  # noqa: E402 - the same trading-stream client
from tests.e2e.streams_harness import prepare_db  # noqa: E402

KEY = "notify-bench"


def run_variant(name: str, pg: Any, samples: int, idle_s: float) -> dict[str, Any]:
    from services.paper_trading.service_layer.service import PaperTradingService
    from shared.trading.schemas import OrderRequest
    from tests.dashboard.harness import Suite
    from tests.services.paper_trading.helpers import OPEN

    tmp = Path(tempfile.mkdtemp(prefix="notify-bench-"))
    url = pg.create_database() if pg is not None else None
    settings = prepare_db(tmp, **({"database__url": url} if url else {}))
    env: dict[str, str] = {}
    if url:
        env["DATABASE_URL"] = url
    if name == "postgresql poll":
        env["TRADING__paper_trading__streams__listen_fallback_s"] = "0.01"
    suite = Suite(tmp, env)
    svc = PaperTradingService(settings)
    account = svc.accounts.resolve(KEY, "s")
    new, fill = [], []
    try:
        suite.start("paper_streams")
        pid = suite.procs["paper_streams"].pid
        probe = Probe(suite.url("paper_streams").replace("http://", "ws://") + "/stream", key=KEY)
        probe.start()
        minute = 1
        for _ in range(samples):
            rec = svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=Decimal(1)),
                                   account=account)
            t0 = time.perf_counter()  # the submission's unit of work has committed
            new.append(probe.wait(rec.id, "new") - t0)
            minute += 1
            svc.process_until(OPEN + timedelta(minutes=minute))  # the fill's unit of work
            t0 = time.perf_counter()
            fill.append(probe.wait(rec.id, "fill") - t0)
        time.sleep(1.0)  # let the last updates' work end
        c0, d0, w0 = tree_cpu(pid), cluster_cpu(pg), time.perf_counter()
        time.sleep(idle_s)
        wall = time.perf_counter() - w0
        idle_srv = (tree_cpu(pid) - c0) / wall
        idle_db = (cluster_cpu(pg) - d0) / wall if pg is not None else 0.0
        health = suite_health(suite)
        probe.stop()
    finally:
        suite.stop_all()
        svc.db.close()
    return {"name": name, "new": new, "fill": fill, "idle_srv": idle_srv, "idle_db": idle_db,
            "polls": health["poller"]["polls"], "wake": health["poller"].get("wake")}


def suite_health(suite: Any) -> dict[str, Any]:
    import requests

    return requests.get(suite.url("paper_streams") + "/health", timeout=5).json()["data"]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--samples", type=int, default=40)
    ap.add_argument("--idle-s", type=float, default=10.0)
    ap.add_argument("--backend", default="both")
    args = ap.parse_args()
    names = chosen(args.backend)
    variants = [v for b in names for v in
                (["sqlite"] if b == "sqlite" else ["postgresql poll", "postgresql listen"])]
    rows = []
    with cluster("postgresql" in names) as pg:
        for v in variants:
            print(f"{v}: {args.samples} orders and fills", file=sys.stderr, flush=True)
            rows.append(run_variant(v, pg if v.startswith("postgresql") else None,
                                    args.samples, args.idle_s))
    print("stream server: writer's commit -> trade_update received by a websocket client "
          f"({args.samples} orders, each a 'new' and a 'fill'; {load_average()})")
    print(f"  {'variant':>18} | {'new p50':>8} {'p99':>8} | {'fill p50':>8} {'p99':>8} | "
          f"{'idle CPU: streams':>17} {'database':>9} | {'polls':>6}")
    for r in rows:
        both = r["new"] + r["fill"]
        print(f"  {r['name']:>18} | {pct(r['new'], 0.5):>5.1f} ms "
              f"{pct(r['new'], 0.99):>5.1f} ms | {pct(r['fill'], 0.5):>5.1f} ms "
              f"{pct(r['fill'], 0.99):>5.1f} ms | {r['idle_srv'] * 100:>15.1f} % "
              f"{r['idle_db'] * 100:>7.1f} % | {r['polls']:>6}")
        r["all_p50"] = pct(both, 0.5)  # ms
    print(f"  idle CPU: share of one core while {args.idle_s:g} s passed with the client "
          "connected and nothing written (the stream server's process; PostgreSQL's server "
          "processes). polls: the stream poller's polls over the whole variant")
    by = {r["name"]: r for r in rows}
    if "postgresql listen" in by and "postgresql poll" in by:
        a, b = by["postgresql listen"], by["postgresql poll"]
        print(f"  PostgreSQL listen vs poll: latency p50 {a['all_p50']:.1f} vs "
              f"{b['all_p50']:.1f} ms; idle database CPU {a['idle_db'] * 100:.1f} % vs "
              f"{b['idle_db'] * 100:.1f} %; stream server {a['idle_srv'] * 100:.1f} % vs "
              f"{b['idle_srv'] * 100:.1f} %")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
