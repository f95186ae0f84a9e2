"""Scans at successive clock steps read only new bars, yet see exactly what a fresh read sees."""
from __future__ import annotations

import numpy as np
import pandas as pd

from services.scanner.service import ScannerService
from tests.conftest import replay_market


def _panels_equal(a, b) -> None:  # type: ignore[no-untyped-def]
    assert list(a.symbols) == list(b.symbols)
    for f in ("ts", "daily_ts"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    for f in ("close", "volume", "high", "daily_close", "daily_volume"):
        np.testing.assert_array_equal(getattr(a, f), getattr(b, f))
    for m in ("price", "rvol", "rsi", "atr_pct", "gap_pct", "vwap"):
        np.testing.assert_array_equal(getattr(a, m), getattr(b, m))


def test_incremental_panel_matches_fresh_reads_and_a_rewind_drops_later_bars(settings, db
                                                                            ) -> None:  # type: ignore[no-untyped-def]
    ctl, dm = replay_market(settings, db, "2024-03-05", "2024-03-06")
    syms = [u["symbol"] for u in ScannerService(settings, db, market=dm).universe()[:8]]
    kept = ScannerService(settings, db, market=dm)
    reads: list[tuple[str, str, pd.Timestamp]] = []
    who = ["kept"]
    real = dm.get_bars_many

    def counting(symbols, timeframe="1m", start=None, *a, **kw):  # type: ignore[no-untyped-def]
        reads.append((who[0], timeframe, pd.Timestamp(start)))
        return real(symbols, timeframe, start, *a, **kw)

    dm.get_bars_many = counting  # type: ignore[method-assign]
    first = None
    read_at: list[str] = []  # the steps at which the kept service read 5m bars
    for t in ("2024-03-05T15:02Z", "2024-03-05T15:04Z", "2024-03-05T15:05Z",
              "2024-03-05T15:31Z", "2024-03-05T20:00Z", "2024-03-06T14:41Z"):
        ctl.advance(t)
        who[0] = "kept"
        before = len(reads)
        got = kept.panel(syms)
        if any(r[:2] == ("kept", "5m") for r in reads[before:]):
            read_at.append(t)
        first = first or got
        who[0] = "fresh"
        _panels_equal(got, ScannerService(settings, db, market=dm).panel(syms))
        assert pd.Timestamp(int(got.ts[-1]), tz="UTC") + pd.Timedelta(minutes=5) <= pd.Timestamp(t)
    # after the first scan, the kept service reads only from its last cached bar on
    kept_reads = [r[2] for r in reads if r[:2] == ("kept", "5m")]
    assert len(kept_reads) == 5 and min(kept_reads[1:]) >= pd.Timestamp("2024-03-05T14:55Z")
    # ... and not at all before the next 5m bar can have closed (15:00's closes at 15:05)
    assert "2024-03-05T15:04Z" not in read_at and "2024-03-05T15:05Z" in read_at
    assert kept_reads[0] < pd.Timestamp("2024-03-01", tz="UTC")  # the first scan read the whole window
    # a rewound clock must not see the bars cached after its new "now"
    ctl.configure(replay_start="2024-03-05", replay_end="2024-03-06")
    ctl.advance("2024-03-05T15:04Z")
    back = kept.panel(syms)
    _panels_equal(back, ScannerService(settings, db, market=dm).panel(syms))
    assert back.ts[-1] < pd.Timestamp("2024-03-05T15:00Z").value
    assert first is not None and back.ts[-1] == first.ts[-1]


def test_a_backfilling_scan_gives_memory_back_and_an_incremental_one_does_not(settings, db,
                                                                             monkeypatch
                                                                             ) -> None:  # type: ignore[no-untyped-def]
    import services.scanner.service as scanner_service

    calls: list[object] = []
    monkeypatch.setattr(scanner_service, "release_memory", calls.append)
    monkeypatch.setattr(scanner_service, "BULK_ROWS", 500)
    ctl, dm = replay_market(settings, db, "2024-03-05", "2024-03-06")
    svc = ScannerService(settings, db, market=dm)
    syms = [u["symbol"] for u in svc.universe()[:4]]
    ctl.advance("2024-03-05T15:02Z")
    svc.panel(syms)  # weeks of 5m bars for four symbols: well over 500 rows
    assert calls == [db.get_db_connection()]
    ctl.advance("2024-03-05T15:12Z")
    svc.panel(syms)  # two new bars each
    assert len(calls) == 1
    # the window's bars left the data manager's memory cache alone
    assert dm.memory.stats()["sets"] == 0
