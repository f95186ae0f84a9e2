"""A stored open pattern is followed bar by bar while the analyses follow the clock; when the
clock jumps past bars (a replay moved to its session weeks later) it expires instead of
staying live and voting: it then voted, or not, depending on whether a cycle had analysed the
symbol before the jump (issue 21)."""
from __future__ import annotations

import pandas as pd

from services.pattern_analysis.service import PatternService
from shared.market import get_calendar
from shared.market.depth import bars_skipped
from tests.conftest import make_settings
from tests.services.pattern_analysis.series import T0, path_frame
from tests.services.pattern_analysis.test_service_api import FakeSource


def _gapped() -> pd.DataFrame:
    """Quiet bars with one gap up at minute 30 that is never filled."""
    df = path_frame([(0, 100), (380, 101)], seed=5, noise=0.02)
    cols = ["open", "high", "low", "close"]
    df.loc[df.index >= T0 + pd.Timedelta(minutes=30), cols] += 3.0
    return df


def _gap(svc: PatternService) -> dict:  # type: ignore[type-arg]
    return next(d for d in svc.repo.detections("X", "1m") if d["pattern"] == "gap_up")


def test_a_gap_is_followed_while_the_clock_steps_and_expires_when_it_jumps(tmp_path, db) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, patterns__lookback_bars=60)
    src = FakeSource({"X": _gapped()})
    svc = PatternService(settings, db, src)
    for minute in range(40, 140, 5):  # every 5 minutes: the gap leaves the window, unfilled
        src.minute = minute
        svc.refresh("X", "1m")
    assert _gap(svc)["status"] == "active"
    src.minute = 300  # the clock jumped: minutes 135-239 were never analysed
    svc.refresh("X", "1m")
    gap = _gap(svc)
    assert gap["status"] == "expired"


def test_nights_weekends_and_holidays_skip_nothing() -> None:
    cal = get_calendar()
    ns = lambda s: pd.Timestamp(s).value  # noqa: E731
    # Friday 29 Nov 2024 closed at 18:00 UTC; the next bar is Monday's 14:30 one
    assert not bars_skipped(ns("2024-11-29T17:59Z"), ns("2024-12-02T14:30Z"), "1m", cal)
    assert bars_skipped(ns("2024-11-29T17:59Z"), ns("2024-12-02T14:31Z"), "1m", cal)
    # Wednesday 27 Nov, Thanksgiving, Friday: the 15-minute bar after Wednesday's last
    assert not bars_skipped(ns("2024-11-27T20:45Z"), ns("2024-11-29T14:30Z"), "15m", cal)
    assert bars_skipped(ns("2024-11-01T14:45Z"), ns("2024-11-27T14:30Z"), "15m", cal)
    assert not bars_skipped(ns("2024-11-27T14:30Z"), ns("2024-11-27T14:31Z"), "1m", cal)
