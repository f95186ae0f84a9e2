"""Seconds from ``hybrid_manager.py start`` to all nine services healthy, and the suite's memory.

Runs a throwaway suite (temp database and logs, ports from 15400) and prints:
- startup: wall seconds of ``start --detach`` (it returns once every /health answered);
  baselines measured in the same run: the same suite with ``supervisor.fork_server`` off
  (every service its own interpreter importing pandas, TA-Lib, Flask...; start, CPU seconds
  of the start and PSS beside the forked suite's), with ``supervisor.prewarm`` off (each
  group spawned only once the previous one is healthy), one service (coordination) started
  alone under the same runner, and the naive sequential estimate 9 x that;
- memory: total RSS of the manager and every service process (masters and workers), and the
  total PSS, which counts a page shared by a gunicorn master and its forked worker once;
  baseline: 9 x the RSS of a bare interpreter that only imports flask, pandas, numpy and TA-Lib.
  Measured once the first automated coordination cycle has finished (its scan of the whole
  universe backfills weeks of bars: the suite's memory before it is not what it runs with).
Targets (issue 3): under 10 s and under 1.2 GB.

    python bench/startup_bench.py [--runs 3]
"""
from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from shared.config import SERVICE_NAMES  # noqa: E402
from shared.supervisor.process import tree_memory  # noqa: E402

MB = 1024 * 1024


def free_block(start: int, count: int = len(SERVICE_NAMES)) -> list[int]:
    from shared.supervisor.ports import port_free

    base = start
    while not all(port_free(p) for p in range(base, base + count)):
        base += count + 1
    return list(range(base, base + count))


def suite_env(tmp: Path, ports: list[int]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("TRADING__") and not k.endswith("_PORT")}
    env.update({f"{n.upper()}_PORT": str(p) for n, p in zip(SERVICE_NAMES, ports, strict=True)})
    env.update(DATABASE_PATH=str(tmp / "bench.db"), LOG_DIR=str(tmp / "logs"))
    return env


def manager(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "hybrid_manager.py"), *args], env=env,
                          cwd=ROOT, capture_output=True, text=True, timeout=180)


def single_service_seconds(tmp: Path) -> float:
    """Start coordination alone (migrated db, same runner) and time it to a healthy /health."""
    port = free_block(15390, 1)[0]
    env = suite_env(tmp / "single", free_block(15380))
    env["COORDINATION_PORT"] = str(port)
    manager(env, "migrate")
    t0 = time.perf_counter()
    proc = subprocess.Popen([sys.executable, "-m", "services.coordination"], cwd=ROOT, env=env,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                            start_new_session=True)
    try:
        while True:
            try:
                with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=1):
                    return time.perf_counter() - t0
            except OSError:
                if proc.poll() is not None:
                    raise RuntimeError("coordination exited during the baseline") from None
                time.sleep(0.02)
    finally:
        os.killpg(proc.pid, 15)
        proc.wait(15)


def bare_import_rss() -> int:
    code = ("import flask, pandas, numpy, talib, re;"
            "print(re.search(r'VmRSS:\\s+(\\d+)', open('/proc/self/status').read()).group(1))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    return int(out.stdout) * 1024


def finished_cycles(port: int, timeout_s: float = 180.0) -> tuple[int, float]:
    """Wait for coordination's first finished run; return (runs finished, seconds waited).

    Raises:
        RuntimeError: when no cycle finished within ``timeout_s``.
    """
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < timeout_s:
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/api/v1/runs?limit=100",
                                        timeout=5) as r:
                runs = json.load(r)["data"]
            done = sum(1 for x in runs if x["status"] != "running")
            if done:
                return done, time.perf_counter() - t0
        except OSError:
            pass
        time.sleep(0.25)
    raise RuntimeError(f"no coordination cycle finished within {timeout_s:.0f} s")


def one_run(tmp: Path, prewarm: bool = True, measure: bool = True,
            fork_server: bool = True) -> dict[str, Any]:
    from bench._backends import tree_cpu

    ports = free_block(15400)
    env = suite_env(tmp, ports)
    env["TRADING__SUPERVISOR__PREWARM"] = "true" if prewarm else "false"
    env["TRADING__SUPERVISOR__FORK_SERVER"] = "true" if fork_server else "false"
    t0 = time.perf_counter()
    res = manager(env, "start", "--detach")
    out: dict[str, Any] = {"start_s": time.perf_counter() - t0}
    try:
        if res.returncode != 0:
            raise RuntimeError(f"start failed:\n{res.stdout}\n{res.stderr}")
        state = json.loads((tmp / "run" / "bench" / "state.json").read_text())
        out["cpu_s"] = tree_cpu(state["manager_pid"])  # the start's, the manager's tree
        if measure:
            cycles, waited = finished_cycles(ports[SERVICE_NAMES.index("coordination")])
            time.sleep(1.0)  # let the workers settle after their requests
            state = json.loads((tmp / "run" / "bench" / "state.json").read_text())
            rss, pss = tree_memory(state["manager_pid"])
            out.update(rss=rss, pss=pss, cycles=cycles, waited=waited,
                       per={s["name"]: tree_memory(s["pid"]) for s in state["services"]},
                       procs=1 + len(psutil.Process(state["manager_pid"]).children(
                           recursive=True)))
    finally:
        stop = manager(env, "stop")
    if stop.returncode != 0:
        raise RuntimeError(f"stop failed:\n{stop.stdout}")
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--runs", type=int, default=1)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="startup-bench-") as d:
        tmp = Path(d)
        single = single_service_seconds(tmp)
        bare = bare_import_rss()
        runs, plain, spawned = [], [], []
        for i in range(args.runs):  # interleaved, so all see the same machine load
            runs.append(one_run(tmp / f"run{i}"))
            spawned.append(one_run(tmp / f"spawned{i}", fork_server=False))
            plain.append(one_run(tmp / f"plain{i}", prewarm=False, measure=False))
    start = statistics.median(r["start_s"] for r in runs)
    rss = statistics.median(r["rss"] for r in runs)
    pss = statistics.median(r["pss"] for r in runs)
    last = runs[-1]
    print(f"runs: {args.runs} (medians); processes in the suite: {last['procs']}")
    print(f"startup, 'start --detach' to all nine healthy: {start:.2f} s   (target < 10 s)")
    print(f"  baseline, one service alone: {single:.2f} s; 9 x sequential: {9 * single:.2f} s;"
          f" suite / sequential = {start / (9 * single):.2f}")
    cpu = statistics.median(r["cpu_s"] for r in runs)
    sp_start = statistics.median(r["start_s"] for r in spawned)
    sp_cpu = statistics.median(r["cpu_s"] for r in spawned)
    sp_pss = statistics.median(r["pss"] for r in spawned)
    print(f"  CPU seconds of the start (manager and every service): {cpu:.1f}")
    print(f"  baseline, fork server off (each service its own interpreter): {sp_start:.2f} s, "
          f"{sp_cpu:.1f} CPU s, PSS {sp_pss / MB:.0f} MB after the first cycle; forked / "
          f"spawned: start {start / sp_start:.2f}, CPU {cpu / sp_cpu:.2f}, PSS "
          f"{statistics.median(r['pss'] for r in runs) / sp_pss:.2f}")
    seq = statistics.median(r["start_s"] for r in plain)
    print(f"  baseline, groups spawned one after another (prewarm off): {seq:.2f} s;"
          f" prewarm / plain = {start / seq:.2f}")
    print(f"memory, measured after the first coordination cycle finished (waited"
          f" {statistics.median(r['waited'] for r in runs):.1f} s after start returned; cycles done"
          f" by then: {last['cycles']})")
    print(f"memory, total RSS (shared pages counted per process): {rss / MB:.0f} MB")
    print(f"memory, total PSS (shared pages counted once): {pss / MB:.0f} MB   (target < 1200 MB)")
    print(f"  baseline, 9 x bare 'import flask, pandas, numpy, talib': {9 * bare / MB:.0f} MB;"
          f" suite PSS / baseline = {pss / (9 * bare):.2f}")
    print("  per service (rss MB / pss MB):")
    for name, (r, p) in last["per"].items():
        print(f"    {name:<20} {r / MB:6.0f} {p / MB:6.0f}")


if __name__ == "__main__":
    main()
