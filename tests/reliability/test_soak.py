"""Soak: streams, slow clients and order load at once against the real services.

Paper trading (its ``__main__``: gunicorn, two buffered workers) and the stream server run as
real processes on a temp database with a session of AAPL minute bars and a market clock in
step pace (``tests/e2e/streams_harness.prepare_db``).  For ``SOAK_MINUTES`` (default: 75 s,
so ``make test`` stays short; ``SOAK_MINUTES=10 .venv/bin/pytest tests/reliability/test_soak.py
-s -p no:cacheprovider`` is the full ten minutes) all of this runs at once:

- 490 idle trading-stream listeners (``RawSwarm``, on ten accounts no order goes to) and 10 SSE
  subscribers of the trade-event feed, held open on the stream server;
- 50 clients trickling an order's body a byte every 0.5 s and 10 silent ones on paper
  trading (cut off with 408 after ``security.request_read_timeout_s``, 3 s here, and
  reconnecting at once);
- 4 threads submitting orders on ``/v2/orders`` for three accounts (market buys and sells,
  marketable limit buys, limits that rest), ~5 a second each, a new client_order_id each,
  retried with the same id on a connection error or 503;
- the market clock a minute on every 2 s with a sweep (``POST /api/v1/clock/sync``), so
  orders fill throughout;
- /health of both services every 0.5 s.

Then: no /health failed (every probe a 200 within 5 s); every order got an answer and none
a 5xx; every 2xx order is stored exactly once under the id it was given, nothing else is
stored; resubmitting every 2xx client_order_id returns the same order and stores nothing new;
``/api/v1/invariants`` is ok for each account; the stream server kept every idle client.
"""
from __future__ import annotations

import os
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
import requests

from tests.dashboard.harness import Suite
from tests.e2e.streams_harness import prepare_db, set_clock
from tests.reliability.pressure import HealthWatch, IdleStreams, OrderDriver
from tests.reliability.slowclients import SlowClients

SOAK_S = float(os.environ.get("SOAK_MINUTES") or 0) * 60 or 75.0
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(SOAK_S + 420)]
ACCOUNTS = ("soak-a", "soak-b", "soak-c")
IDLE_KEYS = [f"soak-idle-{i}" for i in range(10)]
WS_CLIENTS, SSE_CLIENTS, SLOW, SILENT = 490, 10, 50, 10
STEP_S = max(2.0, SOAK_S / 360)  # one clock minute per step; the session has 390


def _make(i: int) -> tuple[str, dict[str, Any]]:
    key = ACCOUNTS[i % len(ACCOUNTS)]
    kind = (i // len(ACCOUNTS)) % 4
    body: dict[str, Any] = {"symbol": "AAPL", "qty": str(1 + i % 3), "time_in_force": "day",
                            "type": "market", "side": "buy"}
    if kind == 1:  # rests: far below the market
        body.update(type="limit", limit_price="1.00", time_in_force="gtc", qty="1")
    elif kind == 2:  # closes (or shorts) a share
        body.update(side="sell", qty="1")
    elif kind == 3:  # marketable: fills on the next bar
        body.update(type="limit", limit_price="200.00")
    return key, body


def _stored(db_path: Path, prefix: str) -> dict[str, list[str]]:
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        rows = conn.execute("SELECT client_order_id, id FROM pt_orders "
                            "WHERE client_order_id LIKE ?", (prefix + "-%",)).fetchall()
    out: dict[str, list[str]] = {}
    for cid, oid in rows:
        out.setdefault(cid, []).append(oid)
    return out


def test_streams_slow_clients_and_orders_at_once_lose_nothing(tmp_path: Path) -> None:
    settings = prepare_db(tmp_path)
    suite = Suite(tmp_path, {"TRADING__security__rate_limit": "",
                             "TRADING__security__request_read_timeout_s": "3"})
    try:
        suite.start("paper_trading")
        suite.start("paper_streams")
        pt, st = suite.url("paper_trading"), suite.url("paper_streams")
        _soak(settings, suite, pt, st, tmp_path / "trading.db")
    finally:
        suite.stop_all()


def _soak(settings: Any, suite: Suite, pt: str, st: str, db_path: Path) -> None:
    driver = OrderDriver(pt, _make, threads=4, pace_s=0.2)
    stop = threading.Event()
    minutes = [1]
    streams_seen: list[dict[str, Any]] = []

    def clock() -> None:
        http = requests.Session()
        while not stop.wait(STEP_S) and minutes[0] < 389:
            minutes[0] += 1
            set_clock(settings, minutes[0])
            resp = http.post(pt + "/api/v1/clock/sync", json={}, timeout=15)
            assert resp.status_code == 200, resp.text[:300]
            streams_seen.append(requests.get(st + "/health", timeout=5).json()["data"])

    watch = HealthWatch({"paper_trading": pt + "/health", "paper_streams": st + "/health"})
    t0 = time.monotonic()
    with IdleStreams(st, WS_CLIENTS, SSE_CLIENTS, IDLE_KEYS) as idle, \
            SlowClients(suite.ports["paper_trading"], slow=SLOW, silent=SILENT,
                        every_s=0.5) as hostile, watch, ThreadPoolExecutor(1) as side:
        ticking = side.submit(clock)
        driver.run(SOAK_S)
        stop.set()
        ticking.result(timeout=60)
        sse_open = idle.sse_open()
        clients = requests.get(st + "/health", timeout=5).json()["data"]["clients"]
        cut_off = sum(a.startswith(b"HTTP/1.1 408") for a in hostile.answers)
    elapsed = time.monotonic() - t0

    results = driver.results
    codes = Counter(r.status for r in results.values())
    accepted = {cid: r.order_id for cid, r in results.items() if 200 <= r.status < 300}
    lat = sorted(r.ms for r in results.values() if r.status)
    failures = watch.failures()
    worst = {n: max(watch.latencies(n), default=0) * 1000 for n in watch.urls}
    print(f"\nsoak {elapsed:.0f} s: {len(results)} orders {dict(codes)}, "
          f"{sum(r.retries for r in results.values())} retries; order p50 "
          f"{lat[len(lat) // 2]:.0f} ms, p99 {lat[int(len(lat) * 0.99)]:.0f} ms, max "
          f"{lat[-1]:.0f} ms; {minutes[0] - 1} clock minutes; {len(watch.probes)} health "
          f"probes, {len(failures)} failed, worst {worst['paper_trading']:.0f} / "
          f"{worst['paper_streams']:.0f} ms; stream clients {clients}; {sse_open} SSE open; "
          f"{cut_off} slow clients cut off (408), {hostile.reconnects} reconnects")

    assert failures == [], failures[:10]
    assert len(watch.probes) >= SOAK_S / 0.5 / 2  # both polled all along (~every 0.5 s)
    assert codes[0] == 0 and not [c for c in codes if c >= 500], codes
    assert len(accepted) >= len(results) // 2, codes  # most orders accepted
    assert cut_off > 0  # the slow clients were really there, and cut off
    # the stream server kept its idle clients all along
    assert clients["trading_clients"] == WS_CLIENTS and clients["sse_clients"] == SSE_CLIENTS
    assert sse_open == SSE_CLIENTS
    assert "slow_dropped" not in clients
    assert all(s["status"] == "healthy" for s in streams_seen)

    # every 2xx order is stored exactly once under the id it was given; nothing else
    stored = _stored(db_path, driver.prefix)
    assert {cid: stored.get(cid) for cid, oid in accepted.items()
            if stored.get(cid) != [oid]} == {}
    assert sorted(set(stored) - set(accepted)) == []

    # resubmitting every accepted client_order_id returns the same order
    local = threading.local()

    def again(cid: str) -> tuple[int, str | None]:
        r = results[cid]
        if not hasattr(local, "http"):
            local.http = requests.Session()
        resp = local.http.post(
            pt + "/v2/orders", json=r.body, timeout=15,
            headers={"APCA-API-KEY-ID": r.key, "APCA-API-SECRET-KEY": "s"})
        return resp.status_code, resp.json().get("id") if resp.status_code < 300 else None

    with ThreadPoolExecutor(4) as pool:
        answers = dict(zip(accepted, pool.map(again, accepted), strict=True))
    assert {cid: a for cid, a in answers.items() if a != (200, accepted[cid])} == {}
    assert _stored(db_path, driver.prefix) == stored  # nothing new stored

    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        fills = conn.execute("SELECT COUNT(*) FROM pt_fills").fetchone()[0]
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    assert fills >= 50, fills  # orders filled throughout, not just rested
    for key in ACCOUNTS:
        inv = requests.get(pt + "/api/v1/invariants", params={"account": key}, timeout=15)
        assert inv.status_code == 200, inv.text[:300]
        assert inv.json()["data"]["ok"], (key, inv.json()["data"])
    print(f"{len(accepted)} accepted orders stored once each and returned again on resubmit; "
          f"{fills} fills; invariants ok for {', '.join(ACCOUNTS)}")
