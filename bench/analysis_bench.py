"""Technical analysis and scanner throughput against a plain TA-Lib / numpy baseline.

Run: ``.venv/bin/python bench/analysis_bench.py [--symbols 500] [--bars 390] [--scan 5000]``.

1. The default battery (settings ``technical.default_battery``: SMA, EMA, RSI, MACD, BBANDS,
   ATR, STOCH, STOCHRSI, ADX, OBV, session VWAP) over 500 symbols x 390 one-minute bars:
   a plain loop calling TA-Lib directly (VWAP as a numpy cumulative sum) is the baseline; the
   service's own code path (``build_states`` over resolved specs, as ``/analyze`` runs it);
   and one ``POST /api/v1/analyze`` over HTTP to the app under werkzeug in a subprocess, on a
   temp database seeded with one simulated session for the 500 symbols (cold: ``use_cache``
   false, so bars are read from SQLite and everything is computed; warm: the incremental
   cache).  Targets: service path within 1.5x of the loop; HTTP batch under 2 s.
2. A 5,000-symbol scan (12 sessions of 5-minute bars, 60 daily bars) with six filters (price
   range, average volume, relative volume, gap %, RSI range, above VWAP), with a fresh panel
   each repetition so no metric is reused.  Baseline: one numpy cumulative sum over the same
   volume panel.  Target under 1 s.
Every figure is the median of repeated warm runs, baseline and ours alternating so the
machine's drifting load hits both (see baselines.md on memory effects).
"""
from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import numpy as np
import pandas as pd
import talib

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from services.scanner.domain import Filters, Panel, ScanParams, scan  # noqa: E402
from shared.config import load_settings  # noqa: E402
from shared.ta import build_states, parse_specs  # noqa: E402


def median_time(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    fn()  # warm-up
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def paired(a, b, repeat: int) -> tuple[float, float]:  # type: ignore[no-untyped-def]
    """Return the medians of ``a`` and ``b`` run alternately (the machine's load drifts)."""
    a(), b()
    ta, tb = [], []
    for _ in range(repeat):
        for fn, acc in ((a, ta), (b, tb)):
            t0 = time.perf_counter()
            fn()
            acc.append(time.perf_counter() - t0)
    return statistics.median(ta), statistics.median(tb)


def make_bars(n_sym: int, n_bars: int, seed: int = 1) -> tuple[np.ndarray, list[dict]]:
    rng = np.random.default_rng(seed)
    t0 = pd.Timestamp("2024-01-03 09:30", tz="America/New_York").tz_convert("UTC")
    ts = (t0 + pd.to_timedelta(np.arange(n_bars), "min")).as_unit("ns").asi8
    out = []
    for _ in range(n_sym):
        c = 50 * np.exp(np.cumsum(rng.normal(0, 0.001, n_bars)))
        o = np.concatenate([[c[0]], c[:-1]])
        s = np.abs(rng.normal(0, 0.0005, n_bars)) * c
        out.append({"open": o, "high": np.maximum(o, c) + s, "low": np.minimum(o, c) - s,
                    "close": c, "volume": rng.integers(100, 10_000, n_bars).astype("float64")})
    return ts, out


def direct_battery(d: dict) -> None:
    c, h, lo, v = d["close"], d["high"], d["low"], d["volume"]
    talib.SMA(c, 20), talib.EMA(c, 20), talib.RSI(c, 14), talib.MACD(c), talib.BBANDS(c, 20)
    talib.ATR(h, lo, c, 14), talib.STOCH(h, lo, c), talib.STOCHRSI(c, 14), talib.ADX(h, lo, c, 14)
    talib.OBV(c, v)
    tp = (h + lo + c) / 3.0
    np.cumsum(tp * v) / np.cumsum(v)


def part_battery(n_sym: int, n_bars: int, repeat: int) -> None:
    settings = load_settings()
    specs = parse_specs(list(settings.technical.default_battery))
    ts, bars = make_bars(n_sym, n_bars)
    base, svc = paired(lambda: [direct_battery(d) for d in bars],
                       lambda: build_states(specs, [(ts, d) for d in bars]), repeat)
    print(f"battery of {len(specs)} over {n_sym} symbols x {n_bars} bars")
    print(f"  direct TA-Lib loop (baseline):   {base * 1000:8.1f} ms  "
          f"({base / n_sym * 1e6:.0f} us/symbol)")
    print(f"  service code path (build_states): {svc * 1000:8.1f} ms  ratio {svc / base:.2f}x "
          "(target <= 1.5x)")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


SERVER = """
import sys; sys.path.insert(0, {root!r})
from werkzeug.serving import make_server
from shared.config import load_settings
from services.technical_analysis import create_app
app = create_app(load_settings())
make_server("127.0.0.1", {port}, app, threaded=True).serve_forever()
"""


def post(url: str, body: dict, timeout: float = 120) -> dict:
    req = urllib.request.Request(url, json.dumps(body).encode(),
                                 {"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=timeout) as r:
        return json.loads(r.read())


def part_http(n_sym: int, repeat: int) -> None:
    from shared.db import Database, migrate
    from shared.market import DataManager

    tmp = Path(tempfile.mkdtemp(prefix="analysis_bench_"))
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING__")}
    env.update({"DATABASE_PATH": str(tmp / "t.db"), "LOG_DIR": str(tmp / "logs"),
                "TRADING__market__clock__replay_start": "2024-01-04",
                "TRADING__logging__level": "WARNING"})
    env.pop("API_KEY", None)
    settings = load_settings(environ=env)
    db = Database.from_settings(settings)
    migrate(db)
    dm = DataManager(settings, db, owner=True)
    syms = [s["symbol"] for s in dm.get_symbols("equity")][:n_sym]
    t0 = time.perf_counter()
    rows = dm.ingest_session("2024-01-03", syms)
    print(f"seeded {rows} one-minute bars for {len(syms)} symbols in "
          f"{time.perf_counter() - t0:.1f} s (clock {dm.clock.now()})")
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", SERVER.format(root=str(ROOT), port=port)],
                            env=env, cwd=ROOT, stderr=subprocess.PIPE)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                urllib.request.urlopen(url + "/ready", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        body = {"symbols": syms, "timeframe": "1m", "bars": 390, "strategies": False,
                "store": False}
        res = post(url + "/api/v1/analyze", {**body, "use_cache": False})["data"]["results"]
        bad = [s for s, r in res.items() if "error" in r]
        sizes = {r.get("bars") for r in res.values()}
        print(f"POST /api/v1/analyze: {len(res)} symbols, bars per symbol {sizes}, errors {len(bad)}")
        cold = median_time(lambda: post(url + "/api/v1/analyze", {**body, "use_cache": False}),
                           repeat)
        warm = median_time(lambda: post(url + "/api/v1/analyze", body), repeat)
        strat = median_time(lambda: post(url + "/api/v1/analyze",
                                         {**body, "strategies": True, "use_cache": False}), repeat)
        print(f"  battery, no cache (bars read from SQLite): {cold * 1000:8.1f} ms (target < 2000)")
        print(f"  battery, incremental cache:                {warm * 1000:8.1f} ms")
        print(f"  battery + 8 strategies, no cache:          {strat * 1000:8.1f} ms")
    finally:
        proc.terminate()
        proc.wait(10)


def make_panel(n_sym: int, rng: np.random.Generator) -> Panel:
    days = pd.bdate_range("2024-01-02", periods=60, tz="America/New_York")
    intra = days[-12:]
    ts = np.concatenate([(d + pd.Timedelta(hours=9, minutes=30) +
                          pd.to_timedelta(np.arange(78) * 5, "min")).tz_convert("UTC")
                         .as_unit("ns").asi8 for d in intra])
    t = ts.size
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.002, (n_sym, t)), axis=1))
    opn = np.concatenate([close[:, :1], close[:, :-1]], axis=1)
    high, low = np.maximum(opn, close) * 1.001, np.minimum(opn, close) * 0.999
    vol = rng.integers(100, 20_000, (n_sym, t)).astype("float64")
    dts = (days[:-1] + pd.Timedelta(hours=9, minutes=30)).tz_convert("UTC").as_unit("ns").asi8
    dc = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, (n_sym, dts.size)), axis=1))
    sectors = np.array(["Technology", "Energy", "Financials"])[rng.integers(0, 3, n_sym)]
    syms = np.array([f"S{i:05d}" for i in range(n_sym)])
    return Panel(syms, sectors, ts, opn, high, low, close, vol, dts, dc * 1.02, dc * 0.98, dc,
                 rng.integers(50_000, 2_000_000, (n_sym, dts.size)).astype("float64"),
                 ScanParams())


def part_scan(n_sym: int, repeat: int) -> None:
    src = make_panel(n_sym, np.random.default_rng(3))
    filters = Filters(min_price=5, max_price=500, min_avg_volume=100_000, min_rvol=0.5,
                      min_gap_pct=-50, min_rsi=20, max_rsi=80, above_vwap=True)

    def fresh() -> Panel:
        return Panel(**{f: getattr(src, f) for f in src.__dataclass_fields__})

    base, took = paired(lambda: np.cumsum(src.volume, axis=1),
                        lambda: scan(fresh(), filters, 50), repeat)
    matches, total = scan(fresh(), filters, 50)
    print(f"scan of {n_sym} symbols x {src.ts.size} 5-minute bars, six filters: "
          f"{total} matched, top {matches[0].symbol if matches else '-'}")
    print(f"  baseline (one numpy cumsum over the volume panel): {base * 1000:8.1f} ms")
    print(f"  scan (metrics + filters + rank + explain):         {took * 1000:8.1f} ms  "
          f"ratio {took / base:.1f}x (target < 1000 ms)")


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--symbols", type=int, default=500)
    ap.add_argument("--bars", type=int, default=390)
    ap.add_argument("--scan", type=int, default=5000)
    ap.add_argument("--repeat", type=int, default=9)
    ap.add_argument("--skip-http", action="store_true")
    a = ap.parse_args()
    part_battery(a.symbols, a.bars, a.repeat)
    if not a.skip_http:
        part_http(a.symbols, a.repeat)
    part_scan(a.scan, a.repeat)


if __name__ == "__main__":
    main()
