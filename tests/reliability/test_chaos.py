"""Chaos on the whole suite (hybrid_manager.py, real processes, loopback, temp database).

1. A bounded load of concurrent order submissions, each with its own client_order_id, while
   paper trading's gunicorn master is SIGKILLed and then technical analysis's too; the manager
   restarts them.  Afterwards every order that got a 2xx exists exactly once, resubmitting every
   client_order_id creates no duplicate, PRAGMA integrity_check is ok and the ledger invariants
   (cash, equity, positions) hold to the cent.
2. News frozen (SIGSTOP) mid-cycle: coordination's breaker on news opens, the cycle reports
   itself degraded, /health and the dashboard's overview show it; after SIGCONT it recovers.
3. Every log file of the run is grepped for the configured secrets (API key, Alpaca keys).
"""
from __future__ import annotations

import os
import signal
import sqlite3
import threading
import time
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from decimal import Decimal
from typing import Any

import psutil
import pytest
import requests

from tests.reliability.suite import SECRETS, Suite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
ORDERS = 240
THREADS = 8
CENT = Decimal("0.01")


@pytest.fixture(scope="module")
def suite(tmp_path_factory):
    s = Suite(tmp_path_factory.mktemp("chaos"),
              TRADING__http__timeout_s="1.0", TRADING__http__retries="0",
              TRADING__http__breaker_fail_max="2", TRADING__http__breaker_reset_s="3",
              TRADING__market__universe_size="60")
    try:
        t0 = time.monotonic()
        s.start()
        print(f"\nsuite healthy {time.monotonic() - t0:.1f}s after 'start --detach'")
        yield s
    finally:
        s.stop()


def _group(pid: int) -> list[psutil.Process]:
    proc = psutil.Process(pid)
    return [proc, *proc.children(recursive=True)]


def _order_body(i: int, symbols: list[str]) -> dict[str, Any]:
    body: dict[str, Any] = {"symbol": symbols[i % len(symbols)], "side": "buy", "qty": "1",
                            "client_order_id": f"chaos-{i:05d}", "time_in_force": "day"}
    if i % 3 == 2:  # a resting limit order far below the market: reserves cash, never fills
        body.update(type="limit", limit_price="1.00", time_in_force="gtc")
    return body


def _orders_by_cid(s: Suite) -> Counter[str]:
    resp = s.get("paper_trading", "/api/v1/orders", params={"status": "all", "limit": 1000})
    assert resp.status_code == 200, resp.text[:300]
    return Counter(o["client_order_id"] for o in resp.json()["data"]
                   if str(o.get("client_order_id", "")).startswith("chaos-"))


def test_orders_survive_sigkill_exactly_once_with_ledger_invariants(suite):
    s = suite
    alpaca = {"APCA-API-SECRET-KEY": SECRETS["API_KEY"]}
    # Into the session, so that market orders fill and positions come from real fills.
    moved = s.post("coordination", "/api/v1/clock",
                   json={"action": "advance", "to": "2024-01-02T15:30:00+00:00"}, timeout=60)
    assert moved.status_code < 300, moved.text[:300]
    rows = s.get("dashboard", "/api/v1/symbols", params={"limit": 40}).json()["data"]
    symbols = [r["symbol"] for r in rows if "/" not in r["symbol"] and s.get(
        "paper_trading", f"/v2/assets/{r['symbol']}", headers=alpaca).status_code == 200][:4]
    assert len(symbols) >= 2, rows[:5]
    results: dict[str, tuple[int, str | None]] = {}
    done = threading.Semaphore(0)
    latencies: list[float] = []

    errors: Counter[str] = Counter()

    def submit(i: int) -> None:
        """Submit like a careful client: on a connection error or a 503, retry the same
        client_order_id (bounded), which is what makes the idempotency matter."""
        body = _order_body(i, symbols)
        t0 = time.perf_counter()
        status, oid = 0, None
        for attempt in range(40):
            try:
                resp = s.post("paper_trading", "/api/v1/orders", json=body, timeout=15)
            except requests.RequestException:
                errors["connection"] += 1
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
                continue
            status = resp.status_code
            if status == 503:
                errors["503"] += 1
                time.sleep(0.2)
                continue
            if 200 <= status < 300:
                oid = resp.json()["data"]["id"]
            else:
                errors[f"{status}: {resp.json()['error']['message'][:80]}"] += 1
            break
        latencies.append(time.perf_counter() - t0)
        results[body["client_order_id"]] = (status, oid)
        done.release()

    kills: dict[str, float] = {}

    def chaos() -> None:
        for victim, after in (("paper_trading", ORDERS // 4), ("technical_analysis", ORDERS // 2)):
            for _ in range(after - (ORDERS // 4 if victim == "technical_analysis" else 0)):
                done.acquire()
            pid = s.status()[victim]["pid"]
            os.kill(pid, signal.SIGKILL)
            kills[victim] = s.wait_healthy(victim, not_pid=pid, limit_s=90)

    killer = threading.Thread(target=chaos)
    killer.start()
    t0 = time.monotonic()
    with ThreadPoolExecutor(THREADS) as pool:
        list(pool.map(submit, range(ORDERS)))
    elapsed = time.monotonic() - t0
    killer.join(120)
    assert set(kills) == {"paper_trading", "technical_analysis"}, kills
    codes = Counter(status for status, _ in results.values())
    print(f"{ORDERS} submissions in {elapsed:.1f}s; status counts {dict(codes)}; "
          f"retried/refused: {dict(errors)}; "
          f"back healthy after SIGKILL: "
          + ", ".join(f"{k} {v:.1f}s" for k, v in kills.items()))
    accepted = {cid: oid for cid, (st, oid) in results.items() if 200 <= st < 300}
    assert len(accepted) >= ORDERS // 2, codes
    assert not [st for st, _ in results.values() if st >= 500 and st != 503], codes

    # every 2xx order exists exactly once
    counts = _orders_by_cid(s)
    assert {cid: counts[cid] for cid in accepted if counts[cid] != 1} == {}
    assert [cid for cid, n in counts.items() if n > 1] == []

    # resubmitting every client_order_id creates no duplicate
    again: dict[str, tuple[int, str | None]] = {}
    for i in range(ORDERS):
        body = _order_body(i, symbols)
        resp = s.post("paper_trading", "/api/v1/orders", json=body, timeout=15)
        assert resp.status_code < 500, resp.text[:300]
        again[body["client_order_id"]] = (
            resp.status_code, resp.json()["data"]["id"] if resp.status_code < 300 else None)
    for cid, oid in accepted.items():
        assert again[cid] == (again[cid][0], oid) and again[cid][0] < 300, (cid, again[cid])
    after = _orders_by_cid(s)
    assert [cid for cid, n in after.items() if n != 1] == []
    assert len(after) == len({c for c, (st, _) in again.items() if st < 300})

    with sqlite3.connect(s.db_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    inv = s.get("paper_trading", "/api/v1/invariants").json()["data"]
    assert inv["ok"], inv
    acct = s.get("paper_trading", "/v2/account",
                 headers={"APCA-API-SECRET-KEY": SECRETS["API_KEY"]}).json()
    equity, cash = Decimal(acct["equity"]), Decimal(acct["cash"])
    market = Decimal(acct["position_market_value"])
    assert equity.quantize(CENT) == (cash + market).quantize(CENT), acct
    positions = s.get("paper_trading", "/api/v1/positions").json()["data"]
    mv = sum((Decimal(p["market_value"]) for p in positions), Decimal(0))
    print(f"invariants ok: cash {cash}, equity {equity}, {len(positions)} positions "
          f"(market value {mv}); {len(after)} distinct orders after resubmission")


def _breaker(s: Suite, target: str) -> str | None:
    data = s.get("coordination", "/health").json()["data"]
    for b in data.get("circuit_breakers") or []:
        if isinstance(b, dict) and b.get("name", "").endswith(target):
            return b.get("state")
    if isinstance(data.get("circuit_breakers"), dict):
        v = data["circuit_breakers"].get(target)
        return v.get("state") if isinstance(v, dict) else v
    return None


def test_service_frozen_mid_cycle_opens_breaker_degrades_and_recovers(suite):
    s = suite
    pid = s.status()["news"]["pid"]
    group = _group(pid)
    for p in group:
        p.suspend()
    try:
        resp = s.post("coordination", "/api/v1/cycle", json={}, timeout=120)
        assert resp.status_code == 201, resp.text[:500]
        run = resp.json()["data"]
        deg_breaker = _breaker(s, "news")
        overview = s.get("dashboard", "/api/v1/overview").json()["data"]
        print(f"\ncycle with news frozen: status {run['status']}, degraded {run['degraded']}, "
              f"breaker {deg_breaker}")
        assert run["status"] == "degraded" and "news" in run["degraded"], run
        assert deg_breaker == "open"
        assert "news" in str(overview)
    finally:
        for p in group:
            try:
                p.resume()
            except psutil.NoSuchProcess:
                pass
    s.wait_healthy("news", limit_s=60)
    deadline = time.monotonic() + 30
    while True:
        time.sleep(3.5)  # breaker_reset_s is 3: the next call is the half-open trial
        run = s.post("coordination", "/api/v1/cycle", json={}, timeout=120).json()["data"]
        if "news" not in run["degraded"] or time.monotonic() > deadline:
            break
    print(f"after SIGCONT: status {run['status']}, degraded {run['degraded']}, "
          f"breaker {_breaker(s, 'news')}")
    assert "news" not in run["degraded"], run
    assert _breaker(s, "news") == "closed"


def test_no_log_file_contains_a_configured_secret(suite):
    s = suite
    listening = {c.laddr.port: c.laddr.ip for c in psutil.net_connections("inet")
                 if c.status == psutil.CONN_LISTEN and c.laddr.port in s.ports}
    assert listening == {p: "127.0.0.1" for p in s.ports}  # loopback only, by default
    # a failed key check on every service first, so the auth path has logged something
    for name in s.port:
        requests.post(s.url(name, "/api/v1/nowhere-" + name), timeout=5,
                      headers={"X-API-Key": "wrong-" + SECRETS["API_KEY"][::-1]})
    files = [p for p in s.log_dir.rglob("*") if p.is_file()]
    assert len(files) >= 9, files
    leaks = []
    for path in files:
        text = path.read_bytes()
        for var, secret in SECRETS.items():
            if secret.encode() in text:
                leaks.append(f"{path.name}: {var}")
    print(f"\n{len(files)} log files, {sum(p.stat().st_size for p in files)} bytes: "
          f"{len(leaks)} secrets found")
    assert leaks == []
