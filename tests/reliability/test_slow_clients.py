"""Slow, idle and malicious clients cannot starve a service (finding 1 of "Hardening, round two").

Paper trading runs as in production (its ``__main__``: gunicorn, two workers of the
configured worker class, a real SQLite file).  60 clients send an order's headers and then
trickle its body a byte every 0.3 s, 60 more connect and send nothing, all reconnecting when
closed.  Meanwhile /health and real order POSTs must keep answering within 2 s, every order
a 201 stored exactly once, and the trickling clients must be cut off with a 408 once
``security.request_read_timeout_s`` is over.  On gunicorn's sync worker (before) both workers
sat in the first two slow reads: every /health and order timed out.
"""
from __future__ import annotations

import sqlite3
import time
import uuid

import pytest
import requests

from tests.reliability.live import LiveService
from tests.reliability.slowclients import SlowClients

pytestmark = pytest.mark.slow


def order(session: requests.Session, url: str) -> requests.Response:
    return session.post(url + "/api/v1/orders", timeout=2, json={
        "symbol": "AAPL", "side": "buy", "qty": "1", "type": "limit", "limit_price": "1.00",
        "time_in_force": "gtc", "client_order_id": uuid.uuid4().hex})


def test_slow_and_silent_clients_do_not_starve_health_or_orders(tmp_path):
    svc = LiveService("paper_trading", tmp_path, TRADING__security__request_read_timeout_s="3")
    svc.start()
    try:
        http = requests.Session()
        health_ms, order_ms, placed = [], [], []
        with SlowClients(svc.port, slow=60, silent=60, every_s=0.3) as hostile:
            time.sleep(0.5)
            assert hostile.connected >= 100
            t_end = time.monotonic() + 8  # past the 3 s read timeout: cut-offs and reconnects
            while time.monotonic() < t_end:
                t0 = time.perf_counter()
                h = requests.get(svc.url + "/health", timeout=2)
                t1 = time.perf_counter()
                o = order(http, svc.url)
                t2 = time.perf_counter()
                assert h.status_code == 200, h.text
                assert o.status_code == 201, o.text
                placed.append(o.json()["data"]["id"])
                health_ms.append((t1 - t0) * 1000)
                order_ms.append((t2 - t1) * 1000)
                time.sleep(0.1)
            answers = list(hostile.answers)
        print(f"\n{len(placed)} orders and health checks beside 60 slow + 60 silent clients: "
              f"health max {max(health_ms):.0f} ms, order max {max(order_ms):.0f} ms; "
              f"{len(answers)} slow clients cut off, {hostile.reconnects} reconnects")
        assert len(placed) >= 10
        assert any(a.startswith(b"HTTP/1.1 408") for a in answers), answers[:3]
        with sqlite3.connect(svc.db_path) as conn:
            ids = [r[0] for r in conn.execute("SELECT id FROM pt_orders")]
        assert sorted(ids) == sorted(placed)  # every 201 stored exactly once, nothing else
    finally:
        svc.stop()
