"""Visible bars kept between reads: extended by the new bars only, equal to a fresh read, and
forgotten when the clock goes back."""
from __future__ import annotations

import pandas as pd

from services.pattern_analysis.service import PatternService
from tests.conftest import make_settings
from tests.services.pattern_analysis.series import T0, path_frame
from tests.services.pattern_analysis.test_service_api import FakeSource


class CountingSource(FakeSource):
    def __init__(self, frames: dict[str, pd.DataFrame]) -> None:
        super().__init__(frames)
        self.rows = 0

    def bars(self, symbol, timeframe, start, end):  # type: ignore[no-untyped-def]
        got = super().bars(symbol, timeframe, start, end)
        self.rows += int(((got.ts >= start.value) & (got.ts < end.value)).sum())
        return got


def test_kept_bars_equal_a_fresh_read_and_a_rewind_reads_afresh(tmp_path, db) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, patterns__lookback_bars=60)
    frames = {"X": path_frame([(0, 100), (150, 110), (300, 95)], seed=3)}
    src = CountingSource(frames)
    kept = PatternService(settings, db, src)
    for minute in (100, 101, 102, 110, 170, 171):
        src.minute = minute
        src.rows = 0
        got = kept.visible_bars("X", "1m")
        fresh = PatternService(settings, db, FakeSource(frames))
        fresh.source.minute = minute  # type: ignore[attr-defined]
        pd.testing.assert_frame_equal(got, fresh.visible_bars("X", "1m"))
        assert len(got) == 60 and got.index[-1] == T0 + pd.Timedelta(minutes=minute - 1)
        if minute in (101, 102, 171):
            assert src.rows <= 2  # the last kept bar and the one new bar, not the window
    src.minute = 120  # the clock went back: no kept bar after its new "now" may be served
    back = kept.visible_bars("X", "1m")
    assert back.index[-1] == T0 + pd.Timedelta(minutes=119) and len(back) == 60
