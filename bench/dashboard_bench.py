"""Dashboard benchmark: what the live view costs, beside a same-run baseline.

Starts paper trading (gunicorn) on a free port over a temp database, then measures in one run:
- baseline: one GET /health of paper trading with plain ``requests`` (what a probe costs raw);
- the dashboard's aggregated ``/api/v1/overview`` (8 health probes in parallel + registry);
- one full poll of every live topic (health, clock, orders, positions, account, fills, workflow);
- the chart payload (visible bars + TA-Lib overlays) for 300 five-minute bars;
- SSE fan-out: the upstream calls made for 1 vs 10 subscribers over the same period.

Run: ``python bench/dashboard_bench.py``
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path

import requests

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from dashboard import create_app  # noqa: E402
from tests.conftest import make_settings  # noqa: E402
from tests.dashboard.conftest import seed_bars  # noqa: E402
from tests.dashboard.harness import PACKAGES, Suite  # noqa: E402


def timed(fn, n: int) -> tuple[float, float]:  # noqa: ANN001
    fn()  # warm
    xs = []
    for _ in range(n):
        t0 = time.perf_counter()
        fn()
        xs.append((time.perf_counter() - t0) * 1000)
    xs.sort()
    return statistics.median(xs), xs[int(len(xs) * 0.99) - 1]


def main() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="dash-bench-"))
    seed_bars(tmp)
    suite = Suite(tmp)
    suite.start("paper_trading")
    try:
        ports = {f"services__{n}__port": p for n, p in suite.ports.items() if n in PACKAGES}
        settings = make_settings(tmp, dashboard__upstream_timeout_s=1.0, **ports)
        app = create_app(settings)
        client = app.test_client()
        session = requests.Session()
        base_url = suite.url("paper_trading") + "/health"
        base = timed(lambda: session.get(base_url, timeout=5), 50)
        overview = timed(lambda: client.get("/api/v1/overview"), 30)
        poller = app.extensions["dashboard_poller"]
        poll = timed(poller.poll_once, 20)
        chart = timed(lambda: client.get("/api/v1/chart/AAPL?timeframe=5m&bars=300"), 20)
        print(f"baseline GET /health (requests)      p50 {base[0]:7.2f} ms  p99 {base[1]:7.2f} ms")
        print(f"dashboard /api/v1/overview           p50 {overview[0]:7.2f} ms  p99 {overview[1]:7.2f} ms"
              f"  ratio {overview[0] / base[0]:5.1f}x the baseline (8 probes + registry)")
        print(f"one poll of all 7 live topics        p50 {poll[0]:7.2f} ms  p99 {poll[1]:7.2f} ms"
              f"  ratio {poll[0] / base[0]:5.1f}x")
        print(f"chart payload, 300 x 5m bars         p50 {chart[0]:7.2f} ms  p99 {chart[1]:7.2f} ms")

        # Fan-out: count poll rounds while 1 and then 10 subscribers listen for 2 s each.
        poller.interval_s = 0.2
        for n in (1, 10):
            before = poller.seq, time.perf_counter()
            calls = {"n": 0}
            orig = poller.poll_once

            def counting(calls: dict[str, int] = calls, orig=orig) -> int:  # noqa: ANN001
                calls["n"] += 1
                return orig()

            poller.poll_once = counting  # type: ignore[method-assign]
            threads = [threading.Thread(target=lambda: list(poller.subscribe(None, 2.0, 1.0)))
                       for _ in range(n)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            poller.poll_once = orig  # type: ignore[method-assign]
            print(f"SSE {n:2d} subscriber(s), 2 s: {calls['n']} poll rounds "
                  f"(upstream cost independent of subscribers), {poller.seq - before[0]} events")
        poller.stop()
    finally:
        suite.stop_all()


if __name__ == "__main__":
    main()
