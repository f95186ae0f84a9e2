"""A service stepping through a session with everything it keeps between calls (bar windows
extended in place, rows rebuilt only when a detection changed, stored rows parsed once) answers
and stores exactly what a service started afresh at every step does."""
from __future__ import annotations

import pandas as pd

from services.pattern_analysis.service import PatternService
from shared.db import Database, migrate
from tests.conftest import make_settings
from tests.services.pattern_analysis.planted import (
    ASCENDING,
    BULL_FLAG,
    DOUBLE_TOP,
    HEAD_SHOULDERS,
    RANGE_BREAKOUT,
    SPIKE,
    mirror,
)
from tests.services.pattern_analysis.series import path_frame, random_walk
from tests.services.pattern_analysis.test_service_api import FakeSource

TABLES = ("chart_patterns", "chart_levels", "chart_scan_state")


def _frames() -> dict[str, pd.DataFrame]:
    return {
        "DT": path_frame(DOUBLE_TOP + [(230, 92), (300, 99)], seed=0,
                         spikes={i: SPIKE for i in range(146, 156)}),
        "HS": path_frame(HEAD_SHOULDERS + [(300, 97)], seed=1,
                         spikes={i: SPIKE for i in range(168, 180)}),
        "DB": path_frame(mirror(DOUBLE_TOP) + [(300, 104)], seed=4),
        "ASC": path_frame(ASCENDING + [(300, 101)], seed=5),
        "FLAG": path_frame(BULL_FLAG + [(300, 103)], seed=6),
        "RNG": path_frame(RANGE_BREAKOUT + [(300, 101)], seed=2, noise=0.03),
        "RW": random_walk(7, n=301, sigma=0.08),
    }


class BatchSource(FakeSource):
    """``FakeSource`` with the batched read of new bars."""

    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        super().__init__(frames)
        self.batches = 0

    def bars_many(self, symbols, timeframe, start, end):  # type: ignore[no-untyped-def]
        self.batches += 1
        return {s: self.bars(s, timeframe, start, end) for s in symbols}


def _tables(db: Database) -> dict[str, list[tuple]]:
    return {t: [tuple(r) for r in db.fetch_all(f"SELECT * FROM {t} ORDER BY 1, 2, 3")]  # noqa: S608
            for t in TABLES}


def test_a_session_through_the_kept_state_equals_fresh_services(tmp_path) -> None:  # type: ignore[no-untyped-def]
    frames = _frames()
    syms = list(frames)
    kept_settings = make_settings(tmp_path / "kept", patterns__lookback_bars=120)
    fresh_settings = make_settings(tmp_path / "fresh", patterns__lookback_bars=120)
    dbs = [Database.from_settings(s) for s in (kept_settings, fresh_settings)]
    for d in dbs:
        migrate(d)
    src = BatchSource(frames)
    kept = PatternService(kept_settings, dbs[0], src)
    try:
        answered = 0
        # every minute for a while, then in strides: windows slide past planted patterns,
        # detections move on (confirmed, completed, invalidated) and leave the window
        for minute in [*range(100, 160), *range(160, 302, 7)]:
            src.minute = minute
            batch = syms if minute % 4 else syms[1:]  # a symbol sits out now and then
            got = kept.patterns_many(batch, "1m")
            fresh_src = FakeSource(frames)
            fresh_src.minute = minute
            want = PatternService(fresh_settings, dbs[1], fresh_src).patterns_many(batch, "1m")
            assert got == want, f"minute {minute}"
            answered += sum(r["count"] for r in got["results"])
        tables = _tables(dbs[0])
        assert tables == _tables(dbs[1])
        assert answered and all(tables.values())
        statuses = {r[5] for r in tables["chart_patterns"]}
        assert {"forming", "confirmed"} & statuses and statuses - {"forming", "active"}
        assert src.batches >= 50  # the kept windows were extended from batched reads
    finally:
        for d in dbs:
            d.close()
