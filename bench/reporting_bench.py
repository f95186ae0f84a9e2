"""Reporting analytics and endpoints against same-run baselines.

Run: ``.venv/bin/python bench/reporting_bench.py``.  Figures are medians of warm repetitions.

* replay-sized report (10 years of daily equity, 250 round trips) end to end, including the
  four export files, vs empyrical's five return statistics on the same returns;
* the trade journal from 100,000 fills (exact Decimal) vs a float loop that only sums each
  symbol's signed cash (the least work any journal must do);
* compute_stats over 20 sessions of one-minute equity (7,800 steps) and 5,000 trips;
* GET /api/v1/report/summary on a database holding 2,000 fills vs the raw SQL read of them.
"""
from __future__ import annotations

import statistics
import sys
import tempfile
import time
import warnings
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

from shared.analytics import (  # noqa: E402
    build_report,
    build_round_trips,
    compute_stats,
    equity_series,
    export_files,
)
from tests.services.reporting.factories import T0, fill  # noqa: E402


def median_time(fn, reps: int = 5) -> float:
    fn()
    times = []
    for _ in range(reps):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def make_fills(n_trips: int, symbols: int, rng: np.random.Generator, day_step: bool = False):
    fills = []
    for i in range(n_trips):
        px = 100 + rng.normal(0, 5)
        sym = f"S{i % symbols}"
        k = i // symbols
        kw = {"day": k} if day_step else {}
        minute = 0 if day_step else 2 * k
        fills.append(fill(minute, "buy", 10, f"{px:.2f}", "1", symbol=sym, **kw))
        fills.append(fill(minute + 1, "sell", 10, f"{px + rng.normal(0, 1):.2f}", "1",
                          symbol=sym, **kw))
    return fills


def bench_replay_report(rng: np.random.Generator) -> None:
    days = pd.bdate_range("2014-01-02", periods=2520, tz="UTC") + pd.Timedelta(hours=21)
    values = 10_000 * np.cumprod(1 + rng.normal(0.0003, 0.01, len(days)))
    eq = equity_series(zip(days, [Decimal(f"{v:.2f}") for v in values], strict=True))
    fills = make_fills(250, 1, rng, day_step=True)
    fills = [f.__class__(**{**f.__dict__, "ts": days[min(i // 2 * 10 + i % 2, 2519)]})
             for i, f in enumerate(fills)]
    ours = median_time(lambda: export_files(build_report(fills, eq)), 3)
    import empyrical

    rets = pd.Series(values).pct_change().dropna()

    def base() -> None:
        empyrical.sharpe_ratio(rets), empyrical.sortino_ratio(rets)
        empyrical.annual_volatility(rets), empyrical.max_drawdown(rets)
        empyrical.annual_return(rets)

    b = median_time(base)
    print(f"replay-sized report (2,520 daily steps, 250 trips, 4 export files): {ours:.3f} s; "
          f"empyrical 5 stats: {b * 1000:.1f} ms; ratio {ours / b:.0f}x "
          f"(target for the whole replay: < 2 s)")


def bench_journal(rng: np.random.Generator) -> None:
    fills = make_fills(50_000, 100, rng)
    ours = median_time(lambda: build_round_trips(fills), 3)
    raw = [(f.symbol, float(f.signed_qty), float(f.price)) for f in fills]

    def base() -> None:
        cash: dict[str, float] = {}
        for sym, q, p in raw:
            cash[sym] = cash.get(sym, 0.0) - q * p

    b = median_time(base, 3)
    print(f"journal of 100,000 fills: {ours:.3f} s ({len(fills) / ours:,.0f} fills/s); "
          f"float cash-sum loop {b:.3f} s; ratio {ours / b:.1f}x")


def bench_stats(rng: np.random.Generator) -> None:
    idx = pd.DatetimeIndex([])
    for d in pd.bdate_range("2024-03-04", periods=20, tz="UTC"):
        idx = idx.append(pd.date_range(d + pd.Timedelta(hours=14, minutes=30), periods=390,
                                       freq="min"))
    values = 100_000 + np.cumsum(rng.normal(1, 50, len(idx)))
    eq = equity_series(zip(idx, [Decimal(f"{v:.2f}") for v in values], strict=True))
    trips = build_round_trips(make_fills(2500, 100, rng))
    ours = median_time(lambda: compute_stats(trips, eq))
    ref = pd.Series(values, index=idx)

    def base() -> None:
        r = ref.groupby(ref.index.date).last().pct_change().dropna()
        _ = r.mean() / r.std() * np.sqrt(252), (ref / ref.cummax() - 1).min()

    b = median_time(base)
    print(f"compute_stats (7,800 steps, 2,500 trips): {ours * 1000:.1f} ms; "
          f"pandas Sharpe + drawdown only: {b * 1000:.1f} ms; ratio {ours / b:.0f}x")


def bench_api(rng: np.random.Generator) -> None:
    from services.reporting import create_app
    from services.reporting.service import ReportingService
    from shared.db import Database, migrate
    from tests.conftest import make_settings
    from tests.services.reporting.paper_book import book, open_account

    tmp = Path(tempfile.mkdtemp())
    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    open_account(db, "1000000")
    book(db, make_fills(1000, 20, rng))
    now = T0 + timedelta(days=1)

    def bars(symbol, tf, start, end):
        i = pd.date_range(start, end, freq="min", inclusive="left")
        return pd.DataFrame({"open": 100.0, "high": 101.0, "low": 99.0, "close": 100.0,
                             "volume": 1}, index=i)

    svc = ReportingService(settings, db, clock=lambda: now,
                           prices=lambda s, t: Decimal(100), bars=bars)
    for m in range(0, 390, 5):
        svc.snapshot(ts=T0 + timedelta(minutes=m))
    client = create_app(settings, service=svc).test_client()
    ours = median_time(lambda: client.get("/api/v1/report/summary").get_json())
    b = median_time(lambda: db.fetch_all("SELECT * FROM pt_fills WHERE epoch = 0"))
    print(f"GET /report/summary (2,000 fills, 78 snapshots): {ours * 1000:.1f} ms; "
          f"raw read of the fills {b * 1000:.1f} ms; ratio {ours / b:.0f}x")
    db.close()


def main() -> None:
    warnings.simplefilter("ignore")
    rng = np.random.default_rng(11)
    bench_replay_report(rng)
    bench_journal(rng)
    bench_stats(rng)
    bench_api(rng)


if __name__ == "__main__":
    main()
