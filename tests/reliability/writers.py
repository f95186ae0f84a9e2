"""Write contention: several services' real write use cases, one process each, one database.

Each writer process builds its service's app with ``create_app`` (so the real service object,
``Database`` and retry policy), then calls one mutating route through the Flask test client
as fast as it can for ``seconds``.  It reports every call's latency, every 5xx and every
failure whose code or message mentions a lock, busy, a deadlock or a serialization failure,
the ids of the rows its 2xx answers name, and its ``Database.stats`` (retries, transactions,
max).  Used by tests/reliability/test_contention.py (short, SQLite),
tests/reliability/test_contention_pg.py (PostgreSQL) and bench/contention_bench.py (60 s).
"""
from __future__ import annotations

import importlib
import multiprocessing as mp
import re
import time
import uuid
from pathlib import Path
from typing import Any

from shared.config import SERVICES

MODULES = {name: module for name, _, module in SERVICES}


def _request(name: str, i: int, tag: str) -> tuple[str, str, dict[str, Any]]:
    if name == "paper_trading":  # a resting limit order: a write to orders + reservations
        return "POST", "/api/v1/orders", {
            "symbol": ("AAPL", "MSFT", "NVDA")[i % 3], "side": "buy", "qty": "1",
            "type": "limit", "limit_price": "1.00", "time_in_force": "gtc",
            "client_order_id": f"{tag}-{i}"}
    if name == "news":
        return "POST", "/api/v1/news", {"headline": f"{uuid.uuid4().hex} contention story {i}",
                                        "symbols": ["AAPL"]}
    if name == "reporting":
        return "POST", "/api/v1/report/snapshot", {"run_id": f"{tag}-{i}", "source": "bench"}
    if name == "technical_analysis":
        return "POST", "/api/v1/analyze", {"symbols": [("AAPL", "MSFT")[i % 2]],
                                           "store": True, "use_cache": False}
    if name == "pattern_recognition":
        return "POST", "/api/v1/candlesticks/scan", {"symbols": [("AAPL", "MSFT")[i % 2]]}
    if name == "scanner":  # a stored scan run with its results
        # the universe's own tickers (its three largest real names: in a universe of any size)
        return "POST", "/api/v1/scan", {"preset": "momentum", "symbols": ["AAPL", "MSFT", "NVDA"]}
    if name == "pattern_analysis":  # detections stored (force: re-detect every call)
        return "POST", "/api/v1/patterns/scan", {"symbols": [("AAPL", "MSFT")[i % 2]],
                                                 "force": True}
    if name == "coordination":  # a strategy change: the settings row plus its change log
        return "PATCH", "/api/v1/strategy", {"max_positions": 5 + i % 7}
    raise ValueError(name)


#: Every service that writes the shared database (the dashboard only reads).
WRITERS = ("paper_trading", "news", "reporting", "technical_analysis", "pattern_recognition",
           "scanner", "pattern_analysis", "coordination")
#: Where the row a writer's 2xx answer names (``data.id``) is stored: one new row per call.
CREATES = {"paper_trading": "pt_orders", "news": "news", "scanner": "scan_runs"}
#: what a lock or a transaction conflict surfaced to a client reads like, on either engine
LOCK_TEXT = re.compile(r"database is locked|busy|\block\b|deadlock|serializ|concurrent update")


def writer(name: str, overrides: dict[str, Any], seconds: float, market: Any, ready: Any,
           go: Any, out: Any) -> None:
    """Build the app, wait for ``market`` (the bars stored), warm up, put the name on
    ``ready``; once ``go`` is set, write for ``seconds``; put the figures on ``out``."""
    from tests.conftest import make_settings

    settings = make_settings(Path(overrides.pop("_tmp")), **overrides)
    app = importlib.import_module(MODULES[name]).create_app(settings)
    client = app.test_client()
    tag = f"{name}-{uuid.uuid4().hex[:6]}"
    market.wait()
    client.open(*_request(name, 0, tag)[:2], json=_request(name, 0, tag)[2])  # warm up
    db = app.extensions["db"]
    base = db.stats.snapshot()
    lat: list[float] = []
    statuses: dict[int, int] = {}
    lock_errors: list[str] = []
    ids: list[Any] = []
    ready.put(name)
    go.wait()
    start_at = time.time()
    i = 1
    end = start_at + seconds
    while time.time() < end:
        method, path, body = _request(name, i, tag)
        t0 = time.perf_counter()
        resp = client.open(path, method=method, json=body)
        lat.append(time.perf_counter() - t0)
        statuses[resp.status_code] = statuses.get(resp.status_code, 0) + 1
        if resp.status_code >= 400:
            err = (resp.get_json(silent=True) or {}).get("error") or {}
            text = f"{err.get('code', '')} {err.get('message', '')}".lower()
            if resp.status_code >= 500 or LOCK_TEXT.search(text):
                lock_errors.append(resp.get_data(as_text=True)[:200])
        elif name in CREATES:
            ids.append(((resp.get_json(silent=True) or {}).get("data") or {}).get("id"))
        i += 1
    stats = db.stats.snapshot()
    out.put({"name": name, "latencies": lat, "statuses": statuses, "errors": lock_errors,
             "ids": ids,
             "retries": stats["retries"] - base["retries"],
             "transactions": stats["transactions"] - base["transactions"],
             "rollbacks": stats["rollbacks"] - base["rollbacks"], "max_ms": stats["max_ms"]})


def run_contention(tmp: Path, seconds: float, writers: tuple[str, ...] = WRITERS,
                   **overrides: Any) -> list[dict[str, Any]]:
    """Run every writer in its own process on one migrated database; return their figures."""
    from datetime import UTC, datetime
    from decimal import Decimal

    from services.paper_trading.service_layer.accounts import AccountDirectory
    from shared.db import Database, migrate
    from tests.conftest import make_settings, own_market

    t0 = time.monotonic()
    base = {"security__rate_limit": "", "market__universe_size": 25, **overrides}
    settings = make_settings(tmp, **base)
    database = Database.from_settings(settings)
    migrate(database)
    # the automation's paper account exists before the start, as in a running suite: else
    # reporting's first snapshots race paper trading's first order (422 "no account yet")
    AccountDirectory(database, Decimal(str(settings.paper_trading.starting_cash)),
                     lambda: datetime.now(UTC)).ensure_automation()
    # Fresh processes (no pytest state, no inherited connection) forked from one server that
    # imported the services once: eight cold imports cost ~10 s of CPU on a shared runner.
    # (Were the server already started by an earlier caller, its children import as needed.)
    ctx = mp.get_context("forkserver")
    ctx.set_forkserver_preload([__name__, *(MODULES[n] for n in writers)])
    market, ready, go, out = ctx.Event(), ctx.Queue(), ctx.Event(), ctx.Queue()
    # every process builds its app while the market is stored, then warms up on it; all
    # start writing together
    procs = [ctx.Process(target=writer, args=(n, {**base, "_tmp": str(tmp)}, seconds, market,
                                              ready, go, out), daemon=True) for n in writers]
    for p in procs:
        p.start()
    try:
        # the market as coordination's feed stores it: what the analyses and the scan read
        own_market(settings, database, history_days={"5m": 3, "1d": 62})
    finally:
        database.close()
        market.set()
    t1 = time.monotonic()
    for _ in procs:
        ready.get(timeout=240)
    go.set()
    t2 = time.monotonic()
    results = [out.get(timeout=seconds + 240) for _ in procs]
    for p in procs:
        p.join(30)
    print(f"\n{database.label}: market stored in {t1 - t0:.1f}s, then {len(procs)} writers "
          f"built and warmed up in {t2 - t1:.1f}s more, {seconds:g}s of load")
    return results


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    s = sorted(values)
    return s[min(len(s) - 1, int(q * (len(s) - 1) + 0.5))]


def report(results: list[dict[str, Any]], seconds: float) -> str:
    lines = [f"{'writer':<22}{'calls':>8}{'per s':>8}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
             f"{'retries':>9}{'lock errs':>10}  statuses"]
    for r in sorted(results, key=lambda r: r["name"]):
        lat = r["latencies"]
        lines.append(f"{r['name']:<22}{len(lat):>8}{len(lat) / seconds:>8.1f}"
                     f"{percentile(lat, .5) * 1000:>9.2f}{percentile(lat, .99) * 1000:>9.2f}"
                     f"{max(lat, default=0) * 1000:>9.1f}{r['retries']:>9}{len(r['errors']):>10}"
                     f"  {r['statuses']}")
    allat = [x for r in results for x in r["latencies"]]
    lines.append(f"{'all':<22}{len(allat):>8}{len(allat) / seconds:>8.1f}"
                 f"{percentile(allat, .5) * 1000:>9.2f}{percentile(allat, .99) * 1000:>9.2f}"
                 f"{max(allat, default=0) * 1000:>9.1f}{sum(r['retries'] for r in results):>9}"
                 f"{sum(len(r['errors']) for r in results):>10}")
    return "\n".join(lines)
