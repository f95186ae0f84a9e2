"""A request that used to hang technical analysis is a quick 400 (finding 2 of "Hardening,
round two", a check of the earlier fix in ``shared.market.limits.check_range``).

``GET /api/v1/indicators/AAPL?start=0`` asked for every 5-minute bar since 1970 and held
technical analysis until the manager's health checks failed.  Against the real service (its
``__main__``, gunicorn, a real SQLite file): several of them at once are each a 400 naming
``start`` within 2 s, and /health answers 200 while they run.  That repeated health-failure
restarts end in the crash-loop ``failed`` state is
``tests/manager/test_supervisor.py::test_health_failure_restarts_count_towards_the_crash_loop_limit``.
"""
from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from tests.reliability.live import LiveService

pytestmark = pytest.mark.slow


def test_unbounded_indicator_range_is_a_quick_400_and_health_stays_green(tmp_path):
    svc = LiveService("technical_analysis", tmp_path)
    svc.start()
    try:
        def ask(_: int) -> tuple[int, float, dict]:
            t0 = time.perf_counter()
            r = requests.get(svc.url + "/api/v1/indicators/AAPL?start=0", timeout=10)
            return r.status_code, time.perf_counter() - t0, r.json()

        with ThreadPoolExecutor(8) as pool:
            futures = [pool.submit(ask, i) for i in range(8)]
            health = requests.get(svc.url + "/health", timeout=2)
            answers = [f.result() for f in futures]
        print(f"\n8 x ?start=0: {[round(s, 3) for _, s, _ in answers]} s; "
              f"/health {health.status_code}")
        assert health.status_code == 200
        for status, seconds, body in answers:
            assert status == 400 and seconds < 2, (status, seconds, body)
            assert body["error"]["details"]["field"] == "start", body
    finally:
        svc.stop()
