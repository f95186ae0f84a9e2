"""load_bench's pressure part: order and /health latency with 500 idle stream clients and 50
slow-body clients connected vs none, alternated ABBA in the same run (see load_bench)."""
from __future__ import annotations

import argparse
import tempfile
import time
from contextlib import ExitStack
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from bench.harness import pct

KEY = "load-bench"
IDLE_KEYS = [f"load-bench-idle-{i}" for i in range(10)]
WS, SSE, SLOW = 490, 10, 50
ORDER = {"symbol": "AAPL", "side": "buy", "type": "limit", "qty": "1", "limit_price": "1.00",
         "time_in_force": "gtc"}


@dataclass
class Condition:
    orders: list[float] = field(default_factory=list)  # seconds, 2xx only
    seconds: float = 0.0
    codes: dict[int, int] = field(default_factory=dict)
    health: dict[str, list[float]] = field(default_factory=lambda: {"pt": [], "st": []})
    health_failed: int = 0
    p99_by_round: list[float] = field(default_factory=list)
    lag_max_ms: float = 0.0
    cut_off: int = 0


def _round(pt: str, st: str, args: argparse.Namespace, into: Condition) -> None:
    import requests

    from tests.reliability.pressure import HealthWatch, OrderDriver

    driver = OrderDriver(pt, lambda _i: (KEY, ORDER), threads=args.order_threads,
                         pace_s=args.pace)
    watch = HealthWatch({"pt": pt + "/health", "st": st + "/health"}, every_s=0.2)
    t0 = time.perf_counter()
    with watch:
        driver.run(args.seconds)
    into.seconds += time.perf_counter() - t0
    lat = []
    for r in driver.results.values():
        into.codes[r.status] = into.codes.get(r.status, 0) + 1
        if 200 <= r.status < 300:
            lat.append(r.ms / 1000)
    into.orders += lat
    into.p99_by_round.append(pct(lat, 0.99))
    for name in ("pt", "st"):
        into.health[name] += watch.latencies(name)
    into.health_failed += len(watch.failures())
    lag = requests.get(st + "/health", timeout=5).json()["data"]["loop_lag_ms"]["max_5s"]
    into.lag_max_ms = max(into.lag_max_ms, lag)


def _line(name: str, c: Condition) -> str:
    n = len(c.orders)
    h = " | ".join(f"{svc} health p50 {pct(c.health[svc], .5):5.1f} p99 "
                   f"{pct(c.health[svc], .99):6.1f} max {max(c.health[svc]) * 1000:6.1f} ms"
                   for svc in ("pt", "st"))
    return (f"  {name:7s} {n:6d} orders {n / c.seconds:6.0f}/s  p50 {pct(c.orders, .5):5.1f} "
            f"p99 {pct(c.orders, .99):6.1f} ms (rounds: "
            f"{', '.join(f'{x:.0f}' for x in c.p99_by_round)})  {h}; codes {c.codes}, "
            f"health failures {c.health_failed}, stream loop lag max {c.lag_max_ms:.0f} ms")


def pressure_part(args: argparse.Namespace) -> None:
    """Run the pressure part and print its figures and ratios."""
    from tests.dashboard.harness import Suite
    from tests.e2e.streams_harness import prepare_db
    from tests.reliability.pressure import IdleStreams
    from tests.reliability.slowclients import SlowClients

    tmp = Path(tempfile.mkdtemp(prefix="load-bench-pressure-"))
    prepare_db(tmp)
    # a 3 s read timeout (10 s by default) so the slow clients are cut off and reconnect
    # within each round: the churn is part of the load
    suite = Suite(tmp, {"TRADING__security__rate_limit": "",
                        "TRADING__security__request_read_timeout_s": "3"})
    try:
        suite.start("paper_trading")
        suite.start("paper_streams")
        pt, st = suite.url("paper_trading"), suite.url("paper_streams")
        warm = Condition()
        _round(pt, st, argparse.Namespace(**{**vars(args), "seconds": 2.0}), warm)
        runs: dict[str, Condition] = {"quiet": Condition(), "loaded": Condition()}
        print(f"\npressure: paper trading (__main__: 2 buffered workers) + stream server; "
              f"{args.order_threads} order threads ({args.pace * 1000:.0f} ms apart each), "
              f"/health of both every 0.2 s; {args.pressure_rounds} rounds x "
              f"{args.seconds:.0f} s per condition, ABBA; loaded = {WS} idle websocket + {SSE} "
              f"SSE clients on the stream server, {SLOW} slow-body clients on paper trading")
        for r in range(args.pressure_rounds):
            order = ("quiet", "loaded") if r % 2 == 0 else ("loaded", "quiet")
            for cond in order:
                with ExitStack() as stack:
                    hostile: Any = None
                    if cond == "loaded":
                        stack.enter_context(IdleStreams(st, WS, SSE, IDLE_KEYS))
                        hostile = stack.enter_context(
                            SlowClients(suite.ports["paper_trading"], slow=SLOW, every_s=0.5))
                        time.sleep(1.0)  # connected and settled
                    _round(pt, st, args, runs[cond])
                    if hostile is not None:
                        runs[cond].cut_off += sum(a.startswith(b"HTTP/1.1 408")
                                                  for a in hostile.answers)
                time.sleep(1.0)  # the swarm's process gone before the next condition
        q, ld = runs["quiet"], runs["loaded"]
        print(_line("quiet", q))
        print(_line("loaded", ld))
        ratio = pct(ld.orders, .99) / pct(q.orders, .99)
        # each round's pair ran back to back (ABBA): the median of their ratios is what a
        # burst of machine load during some rounds (it lifts both of a pair) disturbs least
        pairs = sorted(a / b for a, b in zip(ld.p99_by_round, q.p99_by_round, strict=True))
        paired = pairs[len(pairs) // 2] if len(pairs) % 2 else \
            (pairs[len(pairs) // 2 - 1] + pairs[len(pairs) // 2]) / 2
        print(f"  ratio loaded/quiet: order p99 {ratio:.2f}x pooled, {paired:.2f}x median of "
              f"the rounds' pairs ({', '.join(f'{x:.2f}' for x in pairs)}) (goal: pooled <= "
              f"1.2x, {'met' if ratio <= 1.2 else 'NOT met'}), p50 "
              f"{pct(ld.orders, .5) / pct(q.orders, .5):.2f}x, throughput "
              f"{(len(ld.orders) / ld.seconds) / (len(q.orders) / q.seconds):.2f}x; health p99 "
              f"paper trading {pct(ld.health['pt'], .99) / pct(q.health['pt'], .99):.2f}x, "
              f"stream server {pct(ld.health['st'], .99) / pct(q.health['st'], .99):.2f}x; "
              f"{ld.cut_off} slow clients cut off (408) while loaded")
    finally:
        suite.stop_all()
