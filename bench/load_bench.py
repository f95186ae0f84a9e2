"""Load on the real services beside a minimal Flask + gunicorn + SQLite baseline, same run.

Run: ``.venv/bin/python bench/load_bench.py [--seconds 8] [--clients 16] [--workers 2]``.

Starts, each under gunicorn with the same sync workers on one temp SQLite file: paper trading,
technical analysis and a minimal baseline app (POST inserts one row; GET reads one row by
primary key).  A bounded client of our own (keep-alive ``http.client`` connections, one thread
each) drives every scenario for ``--seconds``, alternating with its baseline in two rounds so
both see the same machine load, and prints requests/s and p50/p99 latency side by side:

- order submission: POST /api/v1/orders (a resting limit order, own client_order_id)
  vs the baseline's one-row insert;
- position reads: GET /api/v1/positions vs the baseline's primary-key read;
- indicator requests: GET /api/v1/indicators/<symbol>?names=SMA:20,RSI&limit=100 vs the same
  baseline read.

The suite's rate limit (security.rate_limit, per client and route) is raised for the bench
through ``TRADING__security__rate_limit``.

``--part pressure`` (``all`` runs both): order and /health latency beside idle connections.
Paper trading as in production (its ``__main__``: gunicorn, two buffered workers) and the
stream server on a temp database (``tests/e2e/streams_harness.prepare_db``).  ``--order-threads``
threads submit resting limit orders on ``/v2/orders`` (``--pace`` s apart each) while /health
of both services is read every 0.2 s, in two conditions alternated ABBA over ``--rounds`` so
machine drift hits both:

- quiet: nothing else connected;
- loaded: 490 idle trading-stream listeners (``RawSwarm`` on ten other accounts) and 10 SSE
  subscribers held on the stream server, and 50 clients trickling an order's body a byte
  every 0.5 s on paper trading (``tests/reliability/slowclients.py``; cut off with 408 after
  ``security.request_read_timeout_s``, 3 s here so the churn falls within each round, and
  reconnecting at once).

It prints each condition's orders/s, order p50/p99 and /health p50/p99/max, and the ratios
loaded/quiet (goal: order p99 within 1.2x).
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))


from bench.baseline import DDL, SEED  # noqa: E402
from bench.harness import pct, start  # noqa: E402


def drive(port: int, method: str, path: str, seconds: float, clients: int,
          body: dict | None) -> tuple[int, float, list[float], dict[int, int]]:
    """Run ``clients`` keep-alive threads for ``seconds``; return (n, secs, latencies, codes)."""
    lat: list[float] = []
    codes: dict[int, int] = {}
    lock = threading.Lock()
    end = time.perf_counter() + seconds

    def worker() -> None:
        c = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        mine, mycodes = [], {}
        while time.perf_counter() < end:
            payload = None
            if body is not None:
                payload = json.dumps({**body, "client_order_id": uuid.uuid4().hex})
            t0 = time.perf_counter()
            c.request(method, path, payload, {"Content-Type": "application/json"})
            r = c.getresponse()
            r.read()
            mine.append(time.perf_counter() - t0)
            mycodes[r.status] = mycodes.get(r.status, 0) + 1
        with lock:
            lat.extend(mine)
            for k, v in mycodes.items():
                codes[k] = codes.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(clients)]
    t0 = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return len(lat), time.perf_counter() - t0, lat, codes


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--part", choices=("baseline", "pressure", "all"), default="all")
    ap.add_argument("--seconds", type=float, default=8.0, help="per scenario and round")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--rounds", type=int, default=2, help="baseline part")
    ap.add_argument("--pressure-rounds", type=int, default=4, help="pressure part, per condition")
    ap.add_argument("--order-threads", type=int, default=4)
    ap.add_argument("--pace", type=float, default=0.02, help="s between one thread's orders")
    args = ap.parse_args()
    if args.part in ("baseline", "all"):
        baseline_part(args)
    if args.part in ("pressure", "all"):
        from bench._pressure import pressure_part

        pressure_part(args)


def baseline_part(args: argparse.Namespace) -> None:

    from shared.config import load_settings
    from shared.db import Database, migrate
    from shared.market import ClockController

    tmp = Path(tempfile.mkdtemp(prefix="load-bench-"))
    env = {**os.environ, "DATABASE_PATH": str(tmp / "bench.db"), "LOG_DIR": str(tmp / "logs"),
           "TRADING_ENV": "test", "TRADING__security__rate_limit": "1000000 per second",
           "TRADING__market__universe_size": "50"}
    env.pop("API_KEY", None)
    settings = load_settings(environ=env)
    db = Database.from_settings(settings)
    migrate(db)
    db.execute_with_retry(DDL)
    db.execute_with_retry(SEED)
    # a clock row as the running suite has (coordination writes it at start), paused at the
    # replay start, so every run sees the same market
    ClockController(db, settings.market.clock).reset(paused=True)
    db.close()

    order = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": "1",
             "limit_price": "1.00", "time_in_force": "gtc"}
    targets = {"baseline": "bench.baseline:baseline_app()",
               "paper_trading": "services.paper_trading:create_app()",
               "technical_analysis": "services.technical_analysis:create_app()"}
    servers = {n: start(t, env, args.workers) for n, t in targets.items()}
    scenarios = [
        ("order submission", ("paper_trading", "POST", "/api/v1/orders", order),
         ("baseline", "POST", "/write", order)),
        ("position reads", ("paper_trading", "GET", "/api/v1/positions", None),
         ("baseline", "GET", "/read", None)),
        ("indicator requests",
         ("technical_analysis", "GET", "/api/v1/indicators/AAPL?names=SMA:20,RSI&limit=100",
          None),
         ("baseline", "GET", "/read", None)),
    ]
    print(f"load bench: {args.clients} clients, gunicorn {args.workers} sync workers each, "
          f"{args.rounds} rounds x {args.seconds:.0f} s per scenario, one SQLite file")
    try:
        for (name, port) in ((n, p) for n, (_, p) in servers.items()):  # warm up
            path = "/read" if name == "baseline" else "/health"
            drive(port, "GET", path, 1.0, 2, None)
        for title, ours, base in scenarios:
            pooled: dict[str, list] = {"ours": [0, 0.0, [], {}], "base": [0, 0.0, [], {}]}
            for _ in range(args.rounds):
                for key, (svc, method, path, body) in (("ours", ours), ("base", base)):
                    n, secs, lat, codes = drive(servers[svc][1], method, path, args.seconds,
                                                args.clients, body)
                    acc = pooled[key]
                    acc[0] += n
                    acc[1] += secs
                    acc[2].extend(lat)
                    for k, v in codes.items():
                        acc[3][k] = acc[3].get(k, 0) + v
            o, b = pooled["ours"], pooled["base"]
            o_rps, b_rps = o[0] / o[1], b[0] / b[1]
            print(f"\n{title}")
            print(f"  {ours[0] + ' ' + ours[1] + ' ' + ours[2].split('?')[0]:52s} "
                  f"{o_rps:8.0f} req/s  p50 {pct(o[2], .5):7.1f} ms  p99 {pct(o[2], .99):7.1f} ms"
                  f"  {o[3]}")
            print(f"  {'baseline ' + base[1] + ' ' + base[2]:52s} "
                  f"{b_rps:8.0f} req/s  p50 {pct(b[2], .5):7.1f} ms  p99 {pct(b[2], .99):7.1f} ms"
                  f"  {b[3]}")
            print(f"  ratio ours/baseline: {o_rps / b_rps:.2f}x throughput, "
                  f"p99 {pct(o[2], .99) / pct(b[2], .99):.1f}x")
    finally:
        for proc, _ in servers.values():
            proc.terminate()
            proc.wait(15)


if __name__ == "__main__":
    main()
