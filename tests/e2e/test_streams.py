"""Paper trading (gunicorn, sync workers) and the stream server as real processes: 500 clients
listening and SSE subscribers held open while orders are submitted; both stay healthy."""
from __future__ import annotations

import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from tests.dashboard.harness import Suite
from tests.e2e.streams_harness import ClientSwarm, prepare_db

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(120)]
KEY = "e2e-bot"
ORDERS = 200


def _order(base: str, session: requests.Session) -> int:
    r = session.post(base + "/v2/orders", json={
        "symbol": "AAPL", "qty": 1, "side": "buy", "type": "limit", "limit_price": 50,
        "time_in_force": "gtc", "client_order_id": uuid.uuid4().hex}, timeout=10)
    return r.status_code


def test_500_listening_clients_and_sse_subscribers_leave_both_services_healthy(
        tmp_path: Path) -> None:
    prepare_db(tmp_path)
    suite = Suite(tmp_path)
    try:
        suite.start("paper_trading")
        suite.start("paper_streams")
        pt, st = suite.url("paper_trading"), suite.url("paper_streams")
        swarm = ClientSwarm(st.replace("http://", "ws://") + "/stream", 500, KEY)
        swarm.start()
        # the old failure: idle SSE subscribers of paper trading's feed held its sync workers
        sse = [requests.get(pt + "/api/v1/events/stream?account=automation", stream=True,
                            timeout=30) for _ in range(4)]
        assert all(r.status_code == 200 and r.history for r in sse)
        health: list[tuple[int, int, float]] = []
        stop = threading.Event()

        def probe() -> None:
            while not stop.is_set():
                t0 = time.monotonic()
                a = requests.get(pt + "/health", timeout=5).status_code
                t1 = time.monotonic()
                b = requests.get(st + "/health", timeout=5).status_code
                health.append((a, b, t1 - t0, time.monotonic() - t1))
                stop.wait(0.2)

        prober = threading.Thread(target=probe, daemon=True)
        prober.start()
        sessions = [requests.Session() for _ in range(4)]
        for s in sessions:
            s.headers.update({"APCA-API-KEY-ID": KEY, "APCA-API-SECRET-KEY": "s"})
        with ThreadPoolExecutor(4) as pool:
            codes = list(pool.map(lambda i: _order(pt, sessions[i % 4]), range(ORDERS)))
        stop.set()
        prober.join(10)
        counts = swarm.stop(want=ORDERS)  # the clients' process reads 100,000 messages
        for r in sse:
            r.close()
        assert codes.count(200) == ORDERS, codes
        assert health and all(h[0] == 200 and h[1] == 200 for h in health), health
        # generous: these 2 cores are shared (other suites' tests run beside this one)
        assert max(h[2] for h in health) < 3.0 and max(h[3] for h in health) < 3.0, health
        assert len(counts) == 500 and min(counts) == ORDERS  # every client got every "new"
        data = requests.get(st + "/health", timeout=5).json()["data"]
        assert data["status"] == "healthy" and "slow_dropped" not in data["clients"]
        assert data["loop_lag_ms"]["max"] < 1000  # the loop never stalled for a second
        assert data["clients"]["trade_updates"] >= ORDERS
    finally:
        suite.stop_all()
