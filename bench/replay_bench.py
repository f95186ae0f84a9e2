"""Replay benchmark: 10 years of daily bars through ``replay`` (target < 2 s), and one session
of one-minute bars for 100 symbols through the whole running suite (target < 60 s) with the
time spent in each service.  Baseline (same run): backtesting.py's SMA cross on the same bars.

Run: ``python bench/replay_bench.py [--skip-suite | --suite-only | --workbench] [--keep DIR]``;
``--workbench`` times the backtester against backtesting.py on its own GOOG file: one run in
process, the CLI end to end, and a 20x20 parameter grid.  The suite part
starts its own suite on a temp database and ports 6400-6410 and stops it afterwards; ``--keep``
writes the session's exports (trades.csv, report.json...) to DIR, to compare two runs' trades.
"""
from __future__ import annotations

import json
import os
import sqlite3
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import requests

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))


def daily_csv(path: Path, years: int = 10) -> pd.DataFrame:
    rng = np.random.default_rng(7)
    n = 252 * years
    c = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    o = c * (1 + rng.normal(0, 0.003, n))
    df = pd.DataFrame({"Open": o.round(2), "High": (np.maximum(o, c) * 1.005).round(2),
                       "Low": (np.minimum(o, c) * 0.995).round(2), "Close": c.round(2),
                       "Volume": 100_000}, index=pd.bdate_range("2014-01-02", periods=n))
    df.rename_axis("Date").reset_index().assign(
        Date=lambda d: d.Date.dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    return df


def bench_csv(tmp: Path) -> None:
    from hybrid_manager import main

    df = daily_csv(tmp / "daily.csv")
    argv = ["replay", "--data", str(tmp / "daily.csv"), "--symbol", "XYZ", "--param", "fast=10",
            "--param", "slow=20", "--cash", "10000", "--commission", "0.002",
            "--out", str(tmp / "out")]
    times = []
    for _ in range(3):
        t0 = time.perf_counter()
        main(argv)
        times.append(time.perf_counter() - t0)
    ours = float(np.median(times))
    base = None
    try:
        from backtesting import Backtest

        from tests.backtest.reference import sma_cross_strategy

        SmaCross = sma_cross_strategy(10, 20)

        bt_times = []
        for _ in range(3):
            t0 = time.perf_counter()
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                Backtest(df, SmaCross, cash=10_000, commission=0.002).run()
            bt_times.append(time.perf_counter() - t0)
        base = float(np.median(bt_times))
    except ImportError:
        pass
    print(f"replay, {len(df)} daily bars (10 years), 1 symbol: {ours:.3f} s "
          f"(target < 2 s) {'OK' if ours < 2 else 'OVER'}")
    if base:
        print(f"  baseline backtesting.py run(): {base:.3f} s; ratio {ours / base:.1f}x")


def service_cpu(state_file: Path) -> dict[str, float]:
    """Return each service's CPU seconds so far (gunicorn master and workers): on a shared
    machine these move far less with the load than wall-clock seconds do."""
    import psutil

    out: dict[str, float] = {}
    for svc in json.loads(state_file.read_text())["services"]:
        try:
            master = psutil.Process(svc["pid"])
            procs = [master, *master.children(recursive=True)]
        except (psutil.NoSuchProcess, TypeError, ValueError):
            continue
        total = 0.0
        for p in procs:
            try:
                t = p.cpu_times()
                total += t.user + t.system
            except psutil.NoSuchProcess:
                pass
        out[svc["name"]] = total
    return out


def bench_suite(tmp: Path, keep: Path | None = None) -> None:
    base = 6400
    ports = {"COORDINATION": 0, "SCANNER": 1, "PATTERN_ANALYSIS": 2, "TECHNICAL_ANALYSIS": 3,
             "PAPER_TRADING": 5, "PATTERN_RECOGNITION": 6, "PAPER_STREAMS": 7, "NEWS": 8, "REPORTING": 9,
             "DASHBOARD": 10}
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING__")}
    env.update({f"{k}_PORT": str(base + v) for k, v in ports.items()})
    env.update(DATABASE_PATH=str(tmp / "suite.db"), LOG_DIR=str(tmp / "logs"),
               TRADING__coordination__autostart="false",
               TRADING__coordination__strategy__timeframe="1m",
               TRADING__coordination__strategy__max_candidates="10")
    mgr = [sys.executable, str(ROOT / "hybrid_manager.py")]
    subprocess.run([*mgr, "migrate"], env=env, cwd=ROOT, check=True, capture_output=True)
    started = subprocess.run([*mgr, "start", "--detach"], env=env, cwd=ROOT,
                             capture_output=True, text=True)
    if started.returncode != 0:
        print("suite did not start:", started.stdout[-2000:], started.stderr[-2000:])
        subprocess.run([*mgr, "stop"], env=env, cwd=ROOT, capture_output=True)
        return
    state_file = tmp / "run" / "suite" / "state.json"
    try:
        # The market's owner stores the history behind the session first (what a replay
        # waits for): done here, and timed on its own, so the figures below are the replay's.
        coord = f"http://127.0.0.1:{base}"
        t_hist = time.perf_counter()
        requests.patch(coord + "/api/v1/clock", json={
            "pace": "step", "replay_start": "2024-03-05", "replay_end": "2024-03-05"},
            timeout=120).raise_for_status()
        while requests.get(coord + "/api/v1/market/feed", timeout=10).json()["data"][
                "backfill"] != "done":
            time.sleep(0.2)
        print(f"history behind 2024-03-05 stored by the market feed in "
              f"{time.perf_counter() - t_hist:.1f} s (before the replay)")
        cpu0 = service_cpu(state_file)
        t0 = time.perf_counter()
        r = subprocess.run([*mgr, "replay", "--session", "2024-03-05", "--universe", "100",
                            "--out", str(keep or tmp / "session")], env=env, cwd=ROOT,
                           capture_output=True, text=True)
        wall = time.perf_counter() - t0
        cpu1 = service_cpu(state_file)
        out = json.loads(r.stdout[r.stdout.index("{"):]) if "{" in r.stdout else {}
        print(f"session replay, 100 symbols, 1-minute cycles: {wall:.1f} s (target < 60 s) "
              f"{'OK' if wall < 60 else 'OVER'}; cycles {out.get('cycles')}, "
              f"trades {out.get('trades')}, pnl {out.get('pnl')}")
        db = sqlite3.connect(str(tmp / "suite.db"))
        rows = db.execute("SELECT name, SUM(duration_ms), COUNT(*) FROM coord_steps "
                          "GROUP BY name ORDER BY 2 DESC").fetchall()
        for name, ms, n in rows:
            print(f"  step {name:10s} {ms / 1000:8.2f} s over {n} cycles")
        per: dict[str, float] = {}
        for (outputs,) in db.execute("SELECT outputs FROM coord_steps WHERE name = 'analyze'"):
            for src, ms in ((json.loads(outputs) or {}).get("ms") or {}).items():
                per[src] = per.get(src, 0.0) + ms
        for src, ms in sorted(per.items(), key=lambda kv: -kv[1]):
            print(f"    in analyze: {src:20s} {ms / 1000:8.2f} s (one batched call a cycle)")
        used = {k: cpu1[k] - cpu0.get(k, 0.0) for k in cpu1}
        print(f"  CPU seconds by service during the replay (total {sum(used.values()):.1f}):")
        for name, sec in sorted(used.items(), key=lambda kv: -kv[1]):
            print(f"    {name:20s} {sec:7.2f}")
        print("  (analyze = technical analysis, chart patterns, candlesticks and news in "
              "parallel; account/orders = paper trading; scan = scanner, beside account; "
              "snapshot = reporting)")
    finally:
        subprocess.run([*mgr, "stop"], env=env, cwd=ROOT, capture_output=True)


def bench_workbench(tmp: Path) -> None:
    """GOOG daily (backtesting.py's own file): the SMA cross in process and end to end, and a
    20x20 parameter grid, each beside backtesting.py in the same run."""
    import backtesting
    from backtesting import Backtest

    from backtest.data import LoadOptions, load_bars
    from backtest.engine import ReplayConfig, run_replay
    from tests.backtest.reference import sma_cross_strategy

    goog = Path(backtesting.__file__).parent / "test" / "GOOG.csv"
    df = pd.read_csv(goog, index_col=0, parse_dates=True)
    frame = load_bars(goog, LoadOptions(symbol="GOOG"))
    from decimal import Decimal
    cfg = ReplayConfig(symbol="GOOG", params={"fast": 10, "slow": 20},
                       commission_rate=Decimal("0.002"))
    strat = sma_cross_strategy(10, 20)

    def median(fn: Any, n: int = 7) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return float(np.median(times))

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        # ABAB: each side measured between the other's runs, so a load change hits both
        bt_run = median(lambda: Backtest(df, strat, cash=10_000, commission=0.002).run())
        ours = median(lambda: run_replay(frame, cfg))
        bt_run2 = median(lambda: Backtest(df, strat, cash=10_000, commission=0.002).run())
    base = (bt_run + bt_run2) / 2
    print(f"GOOG daily SMA(10,20) in process: ours {ours * 1000:.1f} ms, backtesting.py "
          f"run() {base * 1000:.1f} ms; ratio {ours / base:.2f}x (goal <= 1.5x)")
    out = tmp / "cli"
    argv = [sys.executable, str(ROOT / "hybrid_manager.py"), "replay", "--data", str(goog),
            "--symbol", "GOOG", "--param", "fast=10", "--param", "slow=20",
            "--commission", "0.002", "--out", str(out)]
    wall = []
    for _ in range(3):
        t0 = time.perf_counter()
        subprocess.run(argv, check=True, capture_output=True, cwd=ROOT)
        wall.append(time.perf_counter() - t0)
    print(f"  CLI end to end (Python start to report.html written): {np.median(wall):.2f} s "
          "(goal < 1 s)")
    grid_out = tmp / "grid"
    opt = [sys.executable, str(ROOT / "hybrid_manager.py"), "optimize", "--data", str(goog),
           "--symbol", "GOOG", "--range", "fast=5:100:5", "--range", "slow=10:200:10",
           "--constraint", "fast < slow", "--maximize", "sharpe", "--commission", "0.002",
           "--out", str(grid_out)]
    t0 = time.perf_counter()
    subprocess.run(opt, check=True, capture_output=True, cwd=ROOT)
    ours_grid = time.perf_counter() - t0
    n = len(pd.read_csv(grid_out / "results.csv"))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        from tests.backtest.reference_opt import OptimisableSmaCross

        t0 = time.perf_counter()
        Backtest(df, OptimisableSmaCross, cash=10_000, commission=0.002).optimize(
            fast=range(5, 105, 5), slow=range(10, 210, 10),
            constraint=lambda p: p.fast < p.slow, maximize="Sharpe Ratio")
        bt_grid = time.perf_counter() - t0
    print(f"  optimize 20x20 grid (fast < slow: {n} runs): ours {ours_grid:.1f} s (CLI, both "
          f"cores, files written), backtesting.py optimize() {bt_grid:.1f} s; ratio "
          f"{ours_grid / bt_grid:.2f}x (goal < 1)")


if __name__ == "__main__":
    with tempfile.TemporaryDirectory() as d:
        if "--workbench" in sys.argv:
            bench_workbench(Path(d))
            sys.exit(0)
        if "--suite-only" not in sys.argv:
            bench_csv(Path(d))
        if "--skip-suite" not in sys.argv:
            at = sys.argv.index("--keep") + 1 if "--keep" in sys.argv else 0
            bench_suite(Path(d), Path(sys.argv[at]) if at else None)
