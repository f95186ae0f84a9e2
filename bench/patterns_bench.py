"""Benchmarks of the pattern services, one function per section, each beside a same-run baseline.

Sections (run all, or name some: ``python bench/patterns_bench.py chart_patterns``):

* ``chart_patterns`` - chart-pattern detection (pattern_analysis) for 500 symbols x one
  session of simulated 1-minute bars; target under 5 s.  Baseline: the floor every detector
  needs (TA-Lib ATR + numpy fractal pivots per symbol).  Also the service path (analysis plus
  storing every detection in one transaction on a temp SQLite file).

* ``candlesticks`` - all 61 TA-Lib candlestick functions over 5,000 symbols x 390 bars through
  pattern_recognition's code path against a direct TA-Lib loop; target within 1.5x.
* ``replay_cycles`` - the replay's per-minute ``patterns_many`` batch (20 symbols, one
  session) in process, against a same-run from-scratch service; answers and rows must match.
* ``candles_cycles`` - the replay's per-minute candlestick call: ``scan`` of 20 symbols on 1m
  bars once a minute over one simulated session (temp DB, market clock advanced minute by
  minute, bars stored before each call as coordination's ingest does), CPU ms per call with
  the held tails against a same-run baseline reading every update's whole window
  (``keep_tails=False``); both must store the same rows.
* ``sentiment`` - news sentiment (VADER + finance lexicon) of 10,000 headlines; target over
  2,000 headlines/s.  Baseline: plain VADER.

Other areas add their sections as ``bench_<name>() -> None`` functions and list them in
``SECTIONS``.  Timings are medians of warm repeats (these machines are shared and noisy).
"""
from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402


def _median_time(fn: Callable[[], object], repeats: int) -> float:
    fn()  # warm-up: imports, caches, first-touch of memory
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def _simulated_session(symbols: int, seed: int = 42, session: str = "2024-03-05"):
    from shared.market.calendar import get_calendar
    from shared.market.simulated import SimulatedProvider
    from shared.market.symbols import universe_map

    universe = universe_map(seed, symbols, ())
    syms = [s for s in universe if universe[s].asset_class == "equity"][:symbols]
    return SimulatedProvider(seed, universe, get_calendar()).generate_session(session, syms)


def bench_chart_patterns(symbols: int = 500, repeats: int = 3) -> None:
    """Chart-pattern detection for ``symbols`` x one session (target < 5 s)."""
    import talib

    from services.pattern_analysis.domain import (
        Derived,
        PatternParams,
        analyze_bars,
        fractal_pivots,
    )
    from shared.market.frames import BarArrays

    params = PatternParams()
    sess = _simulated_session(symbols)
    n_sym, n_bars = sess.close.shape
    rows = [BarArrays.from_frame(sess.frame(i)) for i in range(n_sym)]

    def baseline() -> None:
        for b in rows:
            talib.ATR(b.high, b.low, b.close, timeperiod=params.atr_period)
            fractal_pivots(b.high, b.low, params.pivot_window)

    found: dict[str, int] = {}

    def detect() -> None:
        found.clear()
        for b in rows:
            for d in analyze_bars(Derived.of(b, params), params).detections:
                found[d.pattern] = found.get(d.pattern, 0) + 1

    t_base = _median_time(baseline, repeats)
    t_detect = _median_time(detect, repeats)
    t_service = _service_scan(sess, repeats=1)
    print(f"chart patterns: {n_sym} symbols x {n_bars} one-minute bars")
    print(f"  baseline (TA-Lib ATR + numpy pivots)  {t_base:8.3f} s  "
          f"({t_base / n_sym * 1e3:.2f} ms/symbol)")
    print(f"  detection (analyze_bars)              {t_detect:8.3f} s  "
          f"({t_detect / n_sym * 1e3:.2f} ms/symbol)  ratio to baseline {t_detect / t_base:.1f}x")
    print(f"  service scan (analyse + store, 1 tx)  {t_service:8.3f} s")
    verdict = "MET" if t_detect < 5.0 else "MISSED"
    print(f"  target detection < 5 s: {verdict}")
    print(f"  detections: {sum(found.values())} "
          f"({', '.join(f'{k} {v}' for k, v in sorted(found.items()))})")


def _service_scan(sess, repeats: int) -> float:
    """Time ``PatternService.scan`` over every symbol with bars from memory on a temp DB."""
    from services.pattern_analysis.service import PatternService
    from shared.config import load_settings
    from shared.db import Database, migrate
    from shared.market.frames import BarArrays

    arrays = {s: BarArrays.from_frame(sess.frame(i)) for i, s in enumerate(sess.symbols)}
    now = pd.Timestamp(int(sess.ts_ns[-1]), tz="UTC") + pd.Timedelta(minutes=1)

    class Source:
        def now(self) -> pd.Timestamp:
            return now

        def bars(self, symbol, timeframe, start, end):
            return arrays[symbol]

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(environ={}, env="test", database__path=f"{tmp}/b.db",
                                 logging__dir=f"{tmp}/logs")
        db = Database.from_settings(settings)
        migrate(db)
        svc = PatternService(settings, db, Source())
        t = _median_time(lambda: svc.scan(list(arrays), "1m", force=True), repeats)
        db.close()
    return t


def bench_replay_cycles(symbols: int = 20, minutes: int = 390) -> None:
    """One session of the replay's per-minute pattern batch, in process.

    ``PatternService.patterns_many`` over ``symbols`` equities each minute of 2024-03-05 (the
    replay bench's session) on a temp SQLite file, with the built-in simulated market and a
    stepped replay clock: the service as it runs, keeping bar windows and rows between calls,
    beside a same-run from-scratch baseline (a new service each minute, on its own database).
    Prints CPU ms per call of each and checks both answered and stored the same.
    """
    from services.pattern_analysis.service import MarketBarSource, PatternService
    from shared.config import load_settings
    from shared.db import Database, migrate
    from tests.conftest import replay_market

    def build(tmp: str):
        settings = load_settings(environ={}, env="test", database__path=f"{tmp}/r.db",
                                 logging__dir=f"{tmp}/logs", market__universe_size=100,
                                 market__data_cache_dir=f"{tmp}/data-cache")
        db = Database.from_settings(settings)
        migrate(db)
        ctl, dm = replay_market(settings, db, "2024-03-05", "2024-03-06")
        src = MarketBarSource(settings, dm)  # this run's data manager, not the process-wide one
        return settings, db, ctl, dm, src

    def tables(db) -> list:
        return [[tuple(r) for r in db.fetch_all(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]  # noqa: S608
                for t in ("chart_patterns", "chart_levels", "chart_scan_state")]

    with tempfile.TemporaryDirectory() as t1, tempfile.TemporaryDirectory() as t2:
        kept_env, fresh_env = build(t1), build(t2)
        syms = [s["symbol"] for s in kept_env[3].get_symbols("equity")][:symbols]
        kept = PatternService(kept_env[0], kept_env[1], kept_env[4])
        open_ = pd.Timestamp("2024-03-05T14:30Z")
        cpu = {"kept": [], "fresh": []}
        same = 0
        for m in range(1, minutes + 1):
            outs = {}
            for name, (settings, db, ctl, dm, src) in (("kept", kept_env), ("fresh", fresh_env)):
                ctl.advance(open_ + pd.Timedelta(minutes=m))
                dm.clock.invalidate()
                svc = kept if name == "kept" else PatternService(settings, db, src)
                t0 = time.process_time()
                outs[name] = svc.patterns_many(syms, "1m", limit=20)
                cpu[name].append(time.process_time() - t0)
            same += outs["kept"] == outs["fresh"]
        stored_same = tables(kept_env[1]) == tables(fresh_env[1])
        for env in (kept_env, fresh_env):
            env[3].close()
            env[1].close()
    # the first minutes read and store days of bars: steady state is what the replay sees
    steady = {k: v[5:] for k, v in cpu.items()}
    k_ms = statistics.mean(steady["kept"]) * 1e3
    f_ms = statistics.mean(steady["fresh"]) * 1e3
    print(f"replay cycles: {symbols} symbols x {minutes} one-minute calls of patterns_many")
    print(f"  from scratch (new service each call)  {f_ms:8.1f} ms CPU/call "
          f"(total {sum(cpu['fresh']):.1f} s)")
    print(f"  kept state (the running service)      {k_ms:8.1f} ms CPU/call "
          f"(total {sum(cpu['kept']):.1f} s)  ratio {f_ms / k_ms:.2f}x")
    print(f"  identical answers {same}/{minutes}, identical stored rows: {stored_same}")


def _random_ohlc(symbols: int, bars: int, seed: int = 7) -> np.ndarray:
    """Return (4, symbols, bars) float64 random-walk open/high/low/close, cents-rounded."""
    rng = np.random.default_rng(seed)
    close = 50 * np.exp(np.cumsum(rng.normal(0, 0.002, (symbols, bars)), axis=1))
    open_ = np.concatenate([close[:, :1], close[:, :-1]], axis=1) * (
        1 + rng.normal(0, 0.0005, (symbols, bars)))
    high = np.maximum(open_, close) * (1 + np.abs(rng.normal(0, 0.001, (symbols, bars))))
    low = np.minimum(open_, close) * (1 - np.abs(rng.normal(0, 0.001, (symbols, bars))))
    return np.round(np.stack([open_, high, low, close]), 2)


def bench_candlesticks(symbols: int = 5000, bars: int = 390, repeats: int = 3,
                       service_symbols: int = 500) -> None:
    """All 61 TA-Lib candlestick functions over ``symbols`` x ``bars`` (target within 1.5x).

    Baseline: a direct loop calling each TA-Lib CDL function per symbol.  Service code path:
    ``detect_arrays`` (what ``CandlestickService.update`` runs through ``detect_frame``): the
    61-row pattern matrix plus the non-zero scan into detections.  Also the whole incremental
    update (TA-Lib, detection rows, forward outcomes, SQLite) for ``service_symbols`` symbols.
    """
    import talib

    from services.pattern_recognition.domain import PATTERNS, detect_arrays

    data = _random_ohlc(symbols, bars)
    rows = [tuple(np.ascontiguousarray(data[k, i]) for k in range(4)) for i in range(symbols)]
    funcs = [getattr(talib, p) for p in PATTERNS]
    found = [0]

    def baseline() -> None:
        for o, h, lo, c in rows:
            for fn in funcs:
                fn(o, h, lo, c)

    def service_path() -> None:
        found[0] = 0
        for o, h, lo, c in rows:
            found[0] += len(detect_arrays(o, h, lo, c))

    t_base = _median_time(baseline, repeats)
    t_svc = _median_time(service_path, repeats)
    calls = symbols * len(funcs)
    ratio = t_svc / t_base
    print(f"candlesticks: {len(funcs)} TA-Lib CDL functions x {symbols} symbols x {bars} bars")
    print(f"  baseline (direct TA-Lib loop)         {t_base:8.3f} s  "
          f"({t_base / calls * 1e6:.2f} us/call)")
    print(f"  service path (detect_arrays)          {t_svc:8.3f} s  ratio {ratio:.2f}x  "
          f"({found[0]} detections)")
    print(f"  target within 1.5x of baseline: {'MET' if ratio <= 1.5 else 'MISSED'}")
    t_upd, n_det = _candlestick_service_update(data[:, :service_symbols], bars)
    print(f"  service update (detect + outcomes + SQLite, {service_symbols} symbols) "
          f"{t_upd:8.3f} s  ({t_upd / service_symbols * 1e3:.2f} ms/symbol, {n_det} rows)")


def _candlestick_service_update(data: np.ndarray, bars: int) -> tuple[float, int]:
    """Time one ``CandlestickService.update`` per symbol on a temp DB (bars from memory)."""
    from services.pattern_recognition.feed import FrameFeed
    from services.pattern_recognition.service import CandlestickService
    from shared.config import load_settings
    from shared.db import Database, migrate
    from shared.market.calendar import get_calendar

    o_, c_ = get_calendar().session_bounds("2024-03-05")
    idx = pd.date_range(o_, c_, freq="1min", inclusive="left")[:bars]
    feed = FrameFeed(now=c_ + pd.Timedelta(hours=1))
    syms = [f"S{i:04d}" for i in range(data.shape[1])]
    for i, s in enumerate(syms):
        feed.add(s, "1m", pd.DataFrame({"open": data[0, i], "high": data[1, i],
                                        "low": data[2, i], "close": data[3, i],
                                        "volume": 1000}, index=idx))
    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(environ={}, env="test", database__path=f"{tmp}/c.db",
                                 logging__dir=f"{tmp}/logs")
        db = Database.from_settings(settings)
        migrate(db)
        svc = CandlestickService(settings, db, feed)
        t0 = time.perf_counter()
        for s in syms:
            svc.update(s, "1m")
        t = time.perf_counter() - t0
        n = db.fetch_one("SELECT COUNT(*) FROM candle_detections")[0]
        db.close()
    return t, int(n)


def _candle_cycles(keep_tails: bool, minutes: int, symbols: int) -> tuple[list[float], Any]:
    """Return the CPU seconds of each per-minute ``scan`` (the first, a backfill, left out)
    and what was stored."""
    from services.pattern_recognition.feed import MarketFeed
    from services.pattern_recognition.service import CandlestickService
    from shared.config import load_settings
    from shared.db import Database, migrate
    from tests.conftest import replay_market

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(environ={}, env="test", database__path=f"{tmp}/c.db",
                                 logging__dir=f"{tmp}/logs", market__universe_size=100)
        db = Database.from_settings(settings)
        migrate(db)
        ctl, dm = replay_market(settings, db, "2024-03-04", "2024-03-05")
        svc = CandlestickService(settings, db, MarketFeed(settings, dm), keep_tails=keep_tails)
        equities = [s for s in sorted(dm.universe) if "/" not in s]
        syms = equities[:symbols]
        cpu = []
        for k in range(minutes):
            ctl.advance(pd.Timestamp("2024-03-05T14:30Z") + pd.Timedelta(minutes=k))
            dm.ingest_session("2024-03-05", equities, only_missing=True)
            c0 = time.process_time()
            svc.scan(syms, "1m")
            cpu.append(time.process_time() - c0)
        stored = [tuple(r) for r in db.fetch_all(
            "SELECT symbol, ts, pattern, value, complete, (SELECT COUNT(*) FROM candle_outcomes "
            "o WHERE o.detection_id = d.id) FROM candle_detections d ORDER BY 1, 2, 3")]
        dm.close()
        db.close()
    return cpu[1:], stored


def bench_candles_cycles(minutes: int = 391, symbols: int = 20) -> None:
    """Per-minute candlestick scans of ``symbols`` over one session (target: 2x the baseline)."""
    base, want = _candle_cycles(False, minutes, symbols)
    held, got = _candle_cycles(True, minutes, symbols)
    mb, mh = statistics.median(base) * 1e3, statistics.median(held) * 1e3
    print(f"candles_cycles: scan of {symbols} symbols, 1m, {len(held)} per-minute calls")
    print(f"  baseline (whole window read each call) {mb:8.2f} ms CPU/call (median), "
          f"{sum(base):.2f} s total")
    print(f"  held tails (new bars only)             {mh:8.2f} ms CPU/call (median), "
          f"{sum(held):.2f} s total  ratio {mb / mh:.2f}x")
    print(f"  same stored rows: {got == want} ({len(got)} detections)")


def _headlines(n: int, seed: int = 3) -> list[str]:
    """Return ``n`` varied headlines from the news generator's templates."""
    from services.news.domain.generator import _TEMPLATES, BROKERS

    rng = np.random.default_rng(seed)
    kinds = sorted(_TEMPLATES)
    names = [f"Company{i} Inc" for i in range(200)]
    out = []
    for _ in range(n):
        t = _TEMPLATES[kinds[int(rng.integers(len(kinds)))]]
        out.append(t[int(rng.integers(len(t)))].format(
            name=names[int(rng.integers(len(names)))], pct=int(rng.integers(2, 30)),
            q=int(rng.integers(1, 5)), broker=BROKERS[int(rng.integers(len(BROKERS)))],
            target=int(rng.integers(10, 900)), amount=int(rng.integers(10, 900))))
    return out


def bench_sentiment(n: int = 10_000, repeats: int = 3) -> None:
    """Sentiment scoring of ``n`` headlines (target > 2,000 headlines/s).

    Baseline: plain VADER ``polarity_scores``; ours adds the finance lexicon and phrase joins.
    """
    from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

    from services.news.domain import FinanceSentiment

    heads = _headlines(n)
    plain = SentimentIntensityAnalyzer()
    ours = FinanceSentiment()
    labels: dict[str, int] = {}

    def baseline() -> None:
        for h in heads:
            plain.polarity_scores(h)

    def scored() -> None:
        labels.clear()
        for h in heads:
            lab = ours.score(h).label
            labels[lab] = labels.get(lab, 0) + 1

    t_base = _median_time(baseline, repeats)
    t_ours = _median_time(scored, repeats)
    rate = n / t_ours
    print(f"sentiment: {n} headlines")
    print(f"  baseline (plain VADER)                {t_base:8.3f} s  ({n / t_base:,.0f}/s)")
    print(f"  FinanceSentiment.score                {t_ours:8.3f} s  ({rate:,.0f}/s)  "
          f"ratio {t_ours / t_base:.2f}x")
    print(f"  target > 2,000 headlines/s: {'MET' if rate > 2000 else 'MISSED'}  labels {labels}")


#: Every section in run order; other areas append theirs.
SECTIONS: dict[str, Callable[[], None]] = {
    "chart_patterns": bench_chart_patterns,
    "candlesticks": bench_candlesticks,
    "candles_cycles": bench_candles_cycles,
    "sentiment": bench_sentiment,
    "replay_cycles": bench_replay_cycles,
}


#: Keep glibc from handing freed arrays back to the OS: on these virtual machines memory
#: touched again after being returned is far slower, which swings array timings by up to 10x
#: depending on which side of a comparison happens to free first (see baselines.md).
GLIBC_TUNABLES = "glibc.malloc.trim_threshold=4294967296:glibc.malloc.mmap_threshold=33554432"


def main(argv: list[str] | None = None) -> int:
    if argv is None and os.environ.get("GLIBC_TUNABLES") != GLIBC_TUNABLES:
        env = {**os.environ, "GLIBC_TUNABLES": GLIBC_TUNABLES}
        os.execve(sys.executable, [sys.executable, *sys.argv], env)  # same run, steady malloc
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("sections", nargs="*", help=f"sections to run (default: all of "
                        f"{', '.join(SECTIONS)})")
    args = parser.parse_args(argv)
    unknown = [s for s in args.sections if s not in SECTIONS]
    if unknown:
        parser.error(f"unknown section(s) {unknown}; choose from {list(SECTIONS)}")
    np.seterr(all="ignore")
    for name in args.sections or list(SECTIONS):
        print(f"== {name}")
        SECTIONS[name]()
    return 0


if __name__ == "__main__":
    sys.exit(main())
