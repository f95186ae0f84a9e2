"""Market-data benchmark: the market feed (the suite's one writer of bars) at replay speed,
over a 5,000-symbol universe, and the real suite from start to every symbol priced.

Prints, each beside a baseline measured in the same run:
1. ingest at the clock's fastest replay: one session stepped a minute at a time (``step``
   pace), ``feed.catch_up()`` after each step as coordination does: clock-minutes/s, rows/s,
   catch-up p50/p99; baseline: one raw ``executemany`` transaction per step of as many rows.
   Then the feed's own thread behind a ``multiplier`` clock: how far ``market_feed.through_ts``
   trails the clock, in market minutes; reference: the clock's rate x one catch-up.
2. 5,000 symbols: ``catch_up`` at a session's close on a fresh database (no history):
   seconds (goal < 60 s a session), rows/s, generating vs storing; baseline: raw
   ``executemany`` of the same rows (the 11 columns of ``storage._UPSERT``, pre-built tuples,
   one transaction) into ``bars`` of a fresh migrated database; goal feed/raw >= 0.5x.
3. the real suite (``hybrid_manager.py start --detach``, temp DB and logs, free ports, no API
   key): seconds to healthy, then until every universe symbol has a last price (one query on
   the DB file, and ``/v2/stocks/trades/latest`` on paper trading); goals < 10 s each.
4. the suite's PSS (manager + every gunicorn master and worker) once the first workflow cycle
   finished, then sampled every ``--sample-every`` seconds for ``--settle`` seconds of the
   suite trading its replay (a session in ~3 minutes): after ``--warmup`` seconds (caches
   filling to their bounds, the first sessions' windows) it must stay flat: the median of
   the last three samples against that of the first three after the warm-up, in total
   (goal < 5 MB) and per service, and per simulated hour of the market clock.
   ``--suite-only`` runs parts 3 and 4 alone (10 minutes: ``--settle 600 --warmup 120``).
5. ``--cache`` (alone): a cache hit of one symbol-year of one-minute bars from the gzip file
   cache vs the same bars from the database (``bench_cache``); goal: the cache under 50 ms.

    .venv/bin/python bench/market_bench.py [--quick] [--skip-suite] [--suite-only]
        [--cache [--reads 15]]
        [--symbols 500] [--big-symbols 5000] [--minutes 390] [--speed 2000] [--lag-seconds 10]
        [--settle 240] [--warmup 60] [--sample-every 10]
"""
from __future__ import annotations

import argparse
import json
import logging
import os
import shlex
import sqlite3
import sys
import tempfile
import time
import urllib.error
import urllib.parse
import urllib.request
from collections import defaultdict
from collections.abc import Iterable
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import pandas as pd
import psutil

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from bench.harness import pct  # noqa: E402
from bench.startup_bench import MB, finished_cycles, free_block, manager, suite_env  # noqa: E402
from bench.suite_memory import report_growth, report_replacements, sample_pss  # noqa: E402
from shared.config import SERVICE_NAMES, load_settings  # noqa: E402
from shared.db import Database, migrate  # noqa: E402
from shared.market import ClockController, DataManager  # noqa: E402
from shared.market.feed import TIMEFRAMES, MarketFeed, feed_row  # noqa: E402
from shared.market.storage import _COLS  # noqa: E402
from shared.market.symbols import universe_map  # noqa: E402
from shared.supervisor.process import tree_memory  # noqa: E402 - startup_bench's PSS sum
from tests.conftest import make_settings  # noqa: E402

SESSION, CLOSE = "2024-03-05", "2024-03-05T21:00Z"  # a full session after a full one
RAW_INSERT = f"INSERT INTO bars ({', '.join(_COLS)}) VALUES ({', '.join('?' * len(_COLS))})"  # noqa: S608 - constant columns
VALUES = (150_250_000, 150_900_000, 149_800_000, 150_500_000, 12_345, 150_400_000, 87)


def fresh_market(tmp: Path, name: str, **overrides: Any) -> tuple[Any, Database, Any]:
    """Return (settings, migrated db, step-paced clock at the open of ``SESSION``)."""
    settings = make_settings(tmp / name, **overrides)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", replay_start=SESSION, replay_end="2024-03-08")
    return settings, db, ctl


def fresh_db(tmp: Path) -> Database:
    db = Database.from_settings(make_settings(tmp))
    migrate(db)
    return db


def raw_rows(keys: Iterable[tuple[str, str, str]]) -> list[tuple[Any, ...]]:
    return [(s, tf, ts, *VALUES, "simulated") for s, tf, ts in keys]


def raw_write(db: Database, rows: list[tuple[Any, ...]]) -> float:
    """Insert ``rows`` with one plain ``executemany`` in one transaction; return seconds."""
    t0 = time.perf_counter()
    with db.transaction("bench:raw") as conn:
        conn.executemany(RAW_INSERT, rows)
    return time.perf_counter() - t0


# -- 1. a session stepped a minute at a time, and the feed's thread behind a fast clock ----
def bench_steps(tmp: Path, n_symbols: int, minutes: int) -> None:
    settings, db, ctl = fresh_market(tmp, "steps", market__universe_size=n_symbols)
    feed = MarketFeed(DataManager(settings, db, clock=ctl.clock, owner=True),
                      settings.market.ingest)
    t0 = time.perf_counter()
    primed = feed.catch_up()
    prime_s = time.perf_counter() - t0
    durs: list[float] = []
    counts: list[int] = []
    t0 = time.perf_counter()
    for _ in range(minutes):
        ctl.step(1)
        t1 = time.perf_counter()
        counts.append(feed.catch_up())
        durs.append(time.perf_counter() - t1)
    wall = time.perf_counter() - t0
    symbols = feed.equities + feed.crypto
    feed.dm.close()
    db.close()

    raw_db, raw = fresh_db(tmp / "raw-steps"), []
    start = datetime.fromisoformat("2024-03-05T14:30:00+00:00")
    for j, n in enumerate(counts):  # unique keys: symbol x timeframe, one stamp per step
        ts = (start + timedelta(minutes=j)).isoformat()
        n = min(n, len(TIMEFRAMES) * len(symbols))
        rows = raw_rows([(symbols[k % len(symbols)], TIMEFRAMES[k // len(symbols)], ts)
                         for k in range(n)])
        raw.append(raw_write(raw_db, rows))
    raw_db.close()
    rows = sum(counts)
    print(f"1) ingest at the fastest replay: {len(symbols)} symbols ({len(feed.crypto)} crypto),"
          f" clock in step pace from the open of {SESSION}, {minutes} steps of 1 minute, "
          "catch_up() after each")
    print(f"   priming catch_up at the open (last session + today): {primed:,} rows in "
          f"{prime_s:.2f} s")
    print(f"   {minutes / wall:.1f} clock-minutes/s (wall {wall:.1f} s incl. the clock writes; a "
          f"session in {390 * wall / minutes:.0f} s); {rows:,} rows = "
          f"{rows / sum(durs):,.0f} rows/s in catch_up; {rows / minutes:.0f} rows a step")
    print(f"   catch_up p50 {pct(durs, 0.5):.1f} ms, p99 {pct(durs, 0.99):.1f} ms, max "
          f"{max(durs) * 1000:.1f} ms")
    print(f"   baseline, one raw executemany transaction per step of as many rows: p50 "
          f"{pct(raw, 0.5):.1f} ms, p99 {pct(raw, 0.99):.1f} ms = {rows / sum(raw):,.0f} rows/s;"
          f" feed/raw time per step {pct(durs, 0.5) / pct(raw, 0.5):.1f}x (p50)")


def bench_lag(tmp: Path, n_symbols: int, speed: float, seconds: float) -> None:
    settings, db, ctl = fresh_market(tmp, "lag", market__universe_size=n_symbols)
    feed = MarketFeed(DataManager(settings, db, clock=ctl.clock, owner=True),
                      settings.market.ingest)
    feed.catch_up()  # primed while the clock stands, so the lag is the following's alone
    # stay inside the session: a lag across the night would count closed hours
    seconds = min(seconds, 0.9 * 390 * 60 / speed)
    ctl.configure(pace="multiplier", speed=speed)
    c0 = ctl.clock.now_ts()
    feed.start()
    lags: list[float] = []
    t0 = time.perf_counter()
    while time.perf_counter() - t0 < seconds:
        now, row = ctl.clock.now_ts(), feed_row(db)
        lags.append((now - pd.Timestamp(row["through_ts"])).total_seconds() / 60)
        time.sleep(0.05)
    c1 = ctl.clock.now_ts()
    feed.stop()
    st = feed.status()
    feed.dm.close()
    db.close()
    per = (st["catch_up_s"] / st["catch_ups"]) if st["catch_ups"] else float("nan")
    half = len(lags) // 2
    med = pd.Series(lags)
    print(f"   feed thread (feed.start()) behind a multiplier clock at {speed:.0f}x for "
          f"{seconds:.1f} s: the clock moved {(c1 - c0).total_seconds() / 60:.0f} market "
          f"minutes ({speed / 60:.1f}/s); {st['catch_ups']} catch-ups, {st['rows_stored']:,} "
          f"rows, {st['backfill_jobs']} backfill jobs, {st['errors']} errors")
    print(f"   market_feed.through_ts behind the clock: p50 {med.median():.1f}, max "
          f"{med.max():.1f} market minutes ({len(lags)} samples; p50 first half "
          f"{med[:half].median():.1f}, second half {med[half:].median():.1f})")
    print(f"   reference: the clock's rate x one mean catch-up ({per * 1000:.0f} ms) = "
          f"{speed / 60 * per:.1f} market minutes")


# -- 2. a whole session of a 5,000-symbol universe -------------------------------------------
def instrument(dm: DataManager) -> dict[str, float]:
    """Time, on this data manager, session generation and each timeframe's store_arrays."""
    spent: dict[str, float] = defaultdict(float)
    store, call = dm.store.store_arrays, dm.providers.call

    def timed_store(*a: Any, **kw: Any) -> int:
        t0 = time.perf_counter()
        try:
            return store(*a, **kw)
        finally:
            spent[kw.get("timeframe") or a[9]] += time.perf_counter() - t0

    def timed_call(name: str, method: str, *a: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return call(name, method, *a)
        finally:
            if method in ("generate_session", "session_cached"):
                spent["generate"] += time.perf_counter() - t0

    dm.store.store_arrays = timed_store  # type: ignore[method-assign]
    dm.providers.call = timed_call  # type: ignore[method-assign]
    return spent


def bench_big(tmp: Path, n_symbols: int) -> None:
    settings, db, ctl = fresh_market(tmp, "big", market__universe_size=n_symbols,
                                     market__crypto_symbols=[])
    ctl.advance(CLOSE)
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    cfg = settings.market.ingest.model_copy(update={"history_days": {}})
    feed = MarketFeed(dm, cfg)
    spent = instrument(dm)
    t0 = time.perf_counter()
    rows = feed.catch_up()
    secs = time.perf_counter() - t0
    by_tf = {r[0]: r[1] for r in db.fetch_all(
        "SELECT timeframe, COUNT(*) FROM bars GROUP BY timeframe")}
    keys = db.fetch_all("SELECT substr(ts, 1, 10), timeframe, ts FROM bars WHERE symbol = ? "
                        "ORDER BY ts", (feed.equities[0],))
    symbols = feed.equities
    dm.close()
    db.close()

    # the same keys in the feed's order: older session first, a chunk of symbols at a time,
    # each chunk's timeframes in turn
    pattern: dict[str, dict[str, list[str]]] = defaultdict(lambda: defaultdict(list))
    for day, tf, ts in keys:
        pattern[day][tf].append(ts)
    per = max(1, cfg.chunk_rows // 390)
    rows_raw = raw_rows((s, tf, ts) for day in sorted(pattern)
                        for a in range(0, len(symbols), per) for tf in TIMEFRAMES
                        for s in symbols[a:a + per] for ts in pattern[day].get(tf, ()))
    raw_db = fresh_db(tmp / "raw-big")
    raw_s = raw_write(raw_db, rows_raw)
    n_raw = len(rows_raw)
    del rows_raw
    raw_db.close()

    sessions = len(pattern)
    one, store_s = by_tf.get("1m", 0), sum(v for k, v in spent.items() if k in TIMEFRAMES)
    raw_rate = n_raw / raw_s
    print(f"2) {len(symbols):,}-symbol universe, catch_up() at the close of {SESSION} on a fresh "
          "database, no history (history_days={})")
    print(f"   stored {rows:,} rows ({', '.join(f'{tf} {by_tf.get(tf, 0):,}' for tf in TIMEFRAMES)}"
          f") of {sessions} sessions ({', '.join(sorted(pattern))}: catch_up takes the last "
          "closed session and the one before)")
    print(f"   {secs:.1f} s = {rows / secs:,.0f} rows/s; a session {secs / sessions:.1f} s "
          f"(goal < 60 s: {'OK' if secs / sessions < 60 else 'MISSED'}; the catch_up as a whole:"
          f" {'OK' if secs < 60 else 'MISSED'})")
    print(f"   of which generating sessions {spent['generate']:.1f} s, store_arrays "
          f"{store_s:.1f} s ({', '.join(f'{tf} {spent[tf]:.1f}' for tf in TIMEFRAMES)}), the "
          f"rest (coverage queries, resampling, checks) {secs - spent['generate'] - store_s:.1f} s")
    print(f"   baseline, raw executemany of the same {n_raw:,} rows (11 columns, pre-built "
          f"tuples, one transaction): {raw_s:.1f} s = {raw_rate:,.0f} rows/s")
    print("   feed/raw rows/s:  end to end (catch_up s)   storing only (store_arrays s)")
    print(f"     all rows         {rows / secs / raw_rate:5.2f}x {'':16}"
          f"{rows / store_s / raw_rate:5.2f}x   (goal >= 0.5x end to end: "
          f"{'OK' if rows / secs >= 0.5 * raw_rate else 'MISSED'})")
    print(f"     1m rows alone    {one / secs / raw_rate:5.2f}x {'':16}"
          f"{one / spent['1m'] / raw_rate:5.2f}x")


# -- 3 and 4. the real suite -----------------------------------------------------------------
def suite_procs(state: dict[str, Any]) -> list[psutil.Process]:
    out: list[psutil.Process] = []
    for pid in [state["manager_pid"], *(s.get("pid") for s in state["services"])]:
        try:
            p = psutil.Process(pid)
            out += [p, *p.children(recursive=True)]
        except (psutil.NoSuchProcess, TypeError, ValueError):
            continue
    return out


def kill_leftovers(procs: list[psutil.Process]) -> list[str]:
    """SIGKILL what is still running of ``procs`` after the stop; return their pids."""
    killed = []
    for p in procs:
        try:
            # is_running() compares the start time too: never a reused pid
            if p.is_running() and p.status() != psutil.STATUS_ZOMBIE:
                name = " ".join(p.cmdline()[1:3])
                p.kill()
                killed.append(f"{p.pid} ({name})")
        except psutil.NoSuchProcess:
            continue
    return killed


def backfill_label(db_path: Path) -> str:
    """Return how far the owner's history backfill has come (``market_feed.backfill``)."""
    conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
    try:
        row = conn.execute("SELECT backfill FROM market_feed WHERE id = 1").fetchone()
        return "no feed row" if row is None else str(row[0])
    except sqlite3.Error as exc:
        return f"unreadable: {exc}"
    finally:
        conn.close()


def priced(db_path: Path, port: int, symbols: list[str]) -> tuple[int, int]:
    """Return (symbols with a 1m bar in the DB file, symbols with a latest trade over HTTP)."""
    in_db = 0
    if db_path.exists():
        conn = sqlite3.connect(f"file:{db_path}?mode=ro", uri=True, timeout=5)
        try:
            marks = ",".join(["(?)"] * len(symbols))
            in_db = conn.execute(
                f"WITH u(s) AS (VALUES {marks}) SELECT COUNT(*) FROM u WHERE EXISTS "  # noqa: S608 - placeholders only
                "(SELECT 1 FROM bars WHERE symbol = u.s AND timeframe = '1m')", symbols
            ).fetchone()[0]
        except sqlite3.Error:
            pass
        finally:
            conn.close()
    over_http = 0
    for a in range(0, len(symbols), 100):
        q = urllib.parse.quote(",".join(symbols[a:a + 100]), safe=",")
        try:
            with urllib.request.urlopen(f"http://127.0.0.1:{port}/v2/stocks/trades/latest"
                                        f"?symbols={q}", timeout=10) as r:
                trades = json.load(r)["trades"]
            over_http += sum(1 for t in trades.values() if t["p"] > 0)
        except (OSError, ValueError, KeyError):
            pass
    return in_db, over_http


def bench_suite(tmp: Path, settle: float, warmup: float, every: float) -> None:
    ports = free_block(15600)
    env = suite_env(tmp, ports)
    for var in ("API_KEY", "ALPACA_API_KEY", "ALPACA_SECRET_KEY"):
        env.pop(var, None)
    m = load_settings(environ=env).market
    symbols = [s for s, i in universe_map(m.seed, m.universe_size,
                                          tuple(m.crypto_symbols)).items() if i.tradable]
    port = {n: p for n, p in zip(SERVICE_NAMES, ports, strict=True)}
    state_file = tmp / "run" / "bench" / "state.json"
    t0 = time.perf_counter()
    res = manager(env, "start", "--detach")
    start_s = time.perf_counter() - t0
    procs: list[psutil.Process] = []
    try:
        if res.returncode != 0:
            raise RuntimeError(f"start failed:\n{res.stdout[-3000:]}\n{res.stderr[-3000:]}")
        state = json.loads(state_file.read_text())
        procs = suite_procs(state)
        t0, first, seen = time.perf_counter(), None, {}
        while time.perf_counter() - t0 < 60 and len(seen) < 2:
            got = priced(tmp / "bench.db", port["paper_trading"], symbols)
            first = first or got
            for name, n in zip(("db", "http"), got, strict=True):
                if n == len(symbols) and name not in seen:
                    seen[name] = time.perf_counter() - t0
            time.sleep(0.05)
        cycles, waited = finished_cycles(port["coordination"], timeout_s=600.0)  # a loaded machine

        time.sleep(1.0)  # let the workers settle after their requests
        _, pss1 = tree_memory(state["manager_pid"])
        fill1 = backfill_label(tmp / "bench.db")
        samples = sample_pss(state, port["coordination"], settle, every)
        _, pss2 = tree_memory(state["manager_pid"])
        fill2 = backfill_label(tmp / "bench.db")
        later, _ = finished_cycles(port["coordination"])
        procs = suite_procs(state) or procs  # workers respawned since are stopped too
    finally:
        stop = manager(env, "stop")
        killed = kill_leftovers(procs)
    print(f"3) the suite: {len(symbols)} symbols ({len(m.crypto_symbols)} crypto), ports "
          f"{ports[0]}-{ports[-1]}, no API key")
    print(f"   'start --detach' returned (all healthy) after {start_s:.2f} s "
          f"(goal < 10 s: {'OK' if start_s < 10 else 'MISSED'})")
    for name, label in (("db", "a 1m bar in the DB file"),
                        ("http", "a trade on /v2/stocks/trades/latest")):
        at, n0 = seen.get(name), first[0 if name == "db" else 1]
        print(f"   every symbol with {label}: "
              + (f"{at:.2f} s after start returned" if at is not None else "NOT within 60 s")
              + f" ({n0}/{len(symbols)} at the first check; goal < 10 s: "
              + ("OK)" if at is not None and at < 10 else "MISSED)"))
    print(f"4) suite PSS (manager + every master and worker, {len(procs)} processes): "
          f"{pss1 / MB:.0f} MB after the first cycle finished ({waited:.1f} s after the prices;"
          f" {cycles} run(s) done), {pss2 / MB:.0f} MB {samples[-1][0]:.0f} s later ({later} "
          f"run(s) done): {(pss2 - pss1) / MB:+.0f} MB")
    print(f"   the feed's history backfill at the two ends: {fill1!r}, then {fill2!r}")
    report_growth(samples, warmup)
    report_replacements(tmp / "logs")
    print(f"   stopped: {'cleanly' if stop.returncode == 0 else 'with errors'}; leftover "
          f"processes SIGKILLed: {killed or 'none'}")


# -- 5. a cache hit: one symbol-year of one-minute bars from the gzip file cache -----------
def bench_cache(tmp: Path, reads: int) -> None:
    """Read one symbol-year of one-minute bars (every session minute of 2024, ~98,000 bars)
    from the gzip file cache (``FileCache.read_arrays``, and ``read`` as a frame) and from the
    database (``BarStore.read_arrays``: the data manager's query of the ``bars`` table), the
    median of ``reads`` reads each; goal: the cache under 50 ms.  Reference: the same bars
    from the cache's first format (CSV in gzip)."""
    import numpy as np

    from shared.market.barfile import read_legacy_csv
    from shared.market.calendar import get_calendar
    from shared.market.filecache import FileCache
    from shared.market.frames import make_frame
    from shared.market.storage import BarStore
    from shared.market.validation import validate_bars

    settings = make_settings(tmp / "cache")
    db = Database.from_settings(settings)
    migrate(db)
    cal = get_calendar(settings.market.calendar)
    idx = cal.minutes_in_range("2024-01-01", "2024-12-31T23:59Z")
    rng = np.random.default_rng(7)
    close = (15_000 + rng.normal(0, 5, len(idx)).cumsum().round()) / 100  # cents-exact
    df = make_frame(idx.as_unit("ns").asi8, close, close + 0.05, close - 0.05, close,
                    rng.integers(100, 50_000, len(idx)), (close * 100).round() / 100,
                    rng.integers(1, 400, len(idx)))
    fc = FileCache(tmp / "cache" / "data-cache")
    fc.write("ACME", "1m", df, provider="polygon", covered=("2024-01-01", "2025-01-01"))
    store = BarStore(db)
    store.store_batch("ACME", "1m", validate_bars(df, "1m", cal, symbol="ACME"), "polygon")
    csv = tmp / "cache" / "2024.csv.gz"
    out = df.copy()
    out.insert(0, "ts", out.index.strftime("%Y-%m-%dT%H:%M:%S+00:00"))
    out.to_csv(csv, index=False, compression="gzip")

    def median_ms(fn: Any, n: int) -> tuple[float, float]:
        """Return the median wall and CPU milliseconds (CPU: what the read costs whatever
        the machine's load, as the wall time waits for a core on a busy machine)."""
        wall, cpu = [], []
        for _ in range(n):
            t0, c0 = time.perf_counter(), time.process_time()
            fn()
            wall.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        return pct(wall, 0.5), pct(cpu, 0.5)

    span = ("ACME", "1m", "2024-01-01", "2025-01-01")
    cache_arr = fc.read_arrays(*span)
    db_arr = store.read_arrays(["ACME"], "1m", "2024-01-01T00:00:00+00:00",
                               "2025-01-01T00:00:00+00:00")["ACME"]
    same = len(cache_arr) == len(db_arr) == len(df) and all(
        (getattr(cache_arr, f) == getattr(db_arr, f)).all() for f in ("ts", "close", "volume"))
    arrays = median_ms(lambda: fc.read_arrays(*span), reads)
    frame = median_ms(lambda: fc.read(*span), reads)
    from_db = median_ms(lambda: store.read_arrays(["ACME"], "1m", "2024-01-01T00:00:00+00:00",
                                                  "2025-01-01T00:00:00+00:00"), reads)
    legacy = median_ms(lambda: read_legacy_csv(csv), max(3, reads // 4))
    size = fc.path("ACME", "1m", 2024, "polygon").stat().st_size
    db.close()
    print(f"5) cache hit: one symbol-year of one-minute bars ({len(df):,} bars, 2024), median "
          f"of {reads} reads; the same bars both sides: {same}")
    print(f"   gzip file cache ({size / MB:.1f} MB): {arrays[0]:.1f} ms as arrays, {frame[0]:.1f} ms"
          f" as a frame (goal < 50 ms: {'met' if frame[0] < 50 else 'MISSED'}); CPU "
          f"{arrays[1]:.1f} / {frame[1]:.1f} ms")
    print(f"   database (bars table, BarStore.read_arrays): {from_db[0]:.1f} ms (CPU "
          f"{from_db[1]:.1f} ms); database/cache {from_db[0] / arrays[0]:.1f}x")
    print(f"   reference, the cache's first format (CSV in gzip): {legacy[0]:.1f} ms (CPU "
          f"{legacy[1]:.1f} ms), {legacy[0] / frame[0]:.1f}x the frame read")
    print(f"   load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the end")


# -- 6. fundamentals: one symbol's record from the memory layer and from disk ---------------
def bench_fundamentals(tmp: Path, reads: int) -> None:
    """Read one symbol's stored fundamentals (an FMP-shaped record in
    ``data-cache/AAPL/fundamentals/fmp_<stamp>.json``) through ``FundamentalsStore.read`` from
    its memory layer (goal < 1 ms) and from disk (``read_disk``: the folder listed, the newest
    file parsed and checked; goal < 10 ms), the median of ``reads`` reads each; baseline: a
    plain ``json.load`` of the same file.  Then what ``GET /api/v1/fundamentals/AAPL`` does
    once warm: the cached record, the built-in market's and the combiner."""
    from decimal import Decimal

    from shared.market.fundamentals import build_fundamentals

    settings = make_settings(tmp / "fund", market__data_cache_dir=str(tmp / "fund" / "data-cache"))

    class Fmp:  # the sources' contract, answering what FMP's profile gives for Apple
        def fetch_fundamentals(self, symbol: str) -> dict[str, Any]:
            return {"name": "Apple Inc.", "exchange": "NASDAQ", "currency": "USD",
                    "sector": "Technology", "industry": "Consumer Electronics",
                    "market_cap": "2994371098000", "shares_outstanding": "15552752000",
                    "float_shares": "15535357000", "pe_ratio": "31.02", "eps": "6.16",
                    "dividend_yield": "0.0049", "beta": "1.29",
                    "next_earnings_date": "2024-02-01", "last_earnings_date": "2023-11-02"}

    fund = build_fundamentals(settings, writable=True, providers={"fmp": Fmp()})
    store = fund.store
    fund.get("AAPL")  # fetched once and stored
    path = store.read_disk("AAPL", "fmp").path

    def median_ms(fn: Any, n: int) -> float:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            fn()
            times.append(time.perf_counter() - t0)
        return pct(times, 0.5)  # ms

    def plain() -> Any:
        with open(path) as fh:
            return json.load(fh)

    same = store.read("AAPL", "fmp").data == store.read_disk("AAPL", "fmp").data
    memory = median_ms(lambda: store.read("AAPL", "fmp"), reads)
    disk = median_ms(lambda: store.read_disk("AAPL", "fmp"), reads)
    baseline = median_ms(plain, reads)
    combined = median_ms(lambda: fund.get("AAPL"), max(reads // 10, 20))
    got = fund.get("AAPL")
    print(f"6) fundamentals of one symbol ({path.stat().st_size:,} B file), median of {reads} "
          f"reads; the same record both ways: {same}")
    print(f"   memory layer: {memory * 1000:.1f} us (goal < 1 ms: "
          f"{'met' if memory < 1 else 'MISSED'}); disk: {disk * 1000:.1f} us (goal < 10 ms: "
          f"{'met' if disk < 10 else 'MISSED'})")
    print(f"   baseline, a plain json.load of the same file: {baseline * 1000:.1f} us "
          f"(disk/json.load {disk / baseline:.1f}x, memory/json.load {memory / baseline:.2f}x)")
    cap = Decimal(got["fundamentals"]["market_cap"])
    print(f"   the endpoint's work once warm (cache + built-in market + combiner): "
          f"{combined * 1000:.1f} us; market cap {cap / 10**12:.2f}T from "
          f"{got['sources']['market_cap']}, {len(got['disagreements'])} disagreements")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--quick", action="store_true",
                    help="120 steps, 1,500 symbols in part 2, 60 s of PSS samples")
    ap.add_argument("--symbols", type=int, default=500, help="universe of part 1")
    ap.add_argument("--big-symbols", type=int, default=None, help="universe of part 2 (5000)")
    ap.add_argument("--minutes", type=int, default=None, help="steps of part 1 (390)")
    ap.add_argument("--speed", type=float, default=2000.0, help="multiplier clock of part 1")
    ap.add_argument("--lag-seconds", type=float, default=10.0)
    ap.add_argument("--settle", type=float, default=None,
                    help="seconds of PSS samples after the first cycle (240)")
    ap.add_argument("--warmup", type=float, default=None,
                    help="seconds of them not counted as steady state (60; 20 with --quick)")
    ap.add_argument("--sample-every", type=float, default=10.0, help="seconds between samples")
    ap.add_argument("--skip-suite", action="store_true", help="parts 1 and 2 only")
    ap.add_argument("--suite-only", action="store_true", help="parts 3 and 4 only")
    ap.add_argument("--cache", action="store_true",
                    help="part 5 alone: a symbol-year of 1m bars from the gzip cache vs the DB")
    ap.add_argument("--reads", type=int, default=15, help="reads per median of part 5")
    ap.add_argument("--fundamentals", type=int, nargs="?", const=2000, default=None,
                    metavar="READS", help="part 6 alone: one symbol's fundamentals from the "
                    "memory layer and from disk vs json.load, median of READS (2000) reads")
    args = ap.parse_args()
    big = args.big_symbols or (1500 if args.quick else 5000)
    minutes = args.minutes or (120 if args.quick else 390)
    settle = args.settle if args.settle is not None else (60.0 if args.quick else 240.0)
    warmup = args.warmup if args.warmup is not None else (20.0 if args.quick else 60.0)
    exe = os.path.relpath(sys.executable, ROOT) if sys.executable.startswith(str(ROOT)) \
        else sys.executable
    print(f"$ cd {ROOT} && {shlex.join([exe, 'bench/market_bench.py', *sys.argv[1:]])}")
    print(f"load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs at the start")
    logging.getLogger("database_operations").setLevel(logging.ERROR)  # "slow query" lines
    with tempfile.TemporaryDirectory(prefix="market-bench-") as d:
        tmp = Path(d)
        if args.cache:
            bench_cache(tmp, args.reads)
            return
        if args.fundamentals:
            bench_fundamentals(tmp, args.fundamentals)
            return
        if not args.suite_only:
            bench_steps(tmp, args.symbols, minutes)
            bench_lag(tmp, args.symbols, args.speed, args.lag_seconds)
            bench_big(tmp, big)
        if not args.skip_suite:
            bench_suite(tmp / "suite", settle, warmup, args.sample_every)


if __name__ == "__main__":
    main()
