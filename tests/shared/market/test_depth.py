"""The analyses' windows stop at the history the market owner keeps (shared/market/depth.py).

Issue 21: the PostgreSQL session replay traded differently beside two bots. The owner's
backfill behind the suite's first clock time was cut short, at a point that depended on the
machine's load, when the replay moved the clock to its session; technical analysis read 30
days of 15-minute bars (90 of hourly ones) where the owner kept 10 (20): the bars left from
the cut backfill came into the indicators, so the same clock time scored differently.
"""
from __future__ import annotations

import pandas as pd
import pytest

from shared.db import Database, migrate
from shared.market import ClockController, DataManager, get_calendar
from shared.market.depth import history_floor, history_start, within_history
from shared.market.feed import MarketFeed
from shared.ta.market_source import load_bars, load_bars_many
from tests.conftest import make_settings

DEPTH = {"1m": 1, "5m": 5, "15m": 10, "1h": 20, "1d": 100}
UTC = "UTC"


def test_floor_is_the_first_session_open_within_the_depth() -> None:
    cal = get_calendar()
    now = pd.Timestamp("2024-11-29T15:00Z")
    # 10 days back is Tuesday 19 Nov 15:00 UTC, after its open: Wednesday's open
    assert history_floor(cal, "15m", now, 10) == pd.Timestamp("2024-11-20T14:30Z")
    # daily bars: the stamp (00:00 New York) of the first session dated on or after 19 Nov
    assert history_floor(cal, "1d", now, 10) == pd.Timestamp("2024-11-19T05:00Z")
    # a day back is Thanksgiving (closed): the session before the open one (the owner
    # stores it whatever its depth) is the floor
    assert history_floor(cal, "1m", now, 1) == pd.Timestamp("2024-11-27T14:30Z")
    assert history_floor(cal, "1d", now, 1) == pd.Timestamp("2024-11-27T05:00Z")
    # at night too: the last session opened (the 29th, closed at 18:00) and the one before
    assert history_floor(cal, "1m", pd.Timestamp("2024-11-30T02:00Z"), 1) == \
        pd.Timestamp("2024-11-27T14:30Z")


@pytest.mark.parametrize("tf", ["1m", "15m", "1h", "1d"])
def test_every_session_from_the_floor_is_one_the_owner_backfills(tf: str) -> None:
    """The owner stores a session when its open is at most ``days`` before the clock time it
    backfilled from (never after "now"); so does every session from the floor on."""
    cal = get_calendar()
    now = pd.Timestamp("2024-11-29T17:10Z")
    for days in (1, 5, 10, 20, 100):
        floor = history_floor(cal, tf, now, days)
        for cutoff in (now, now - pd.Timedelta(hours=2), pd.Timestamp("2024-11-29T14:30Z")):
            since = cutoff - pd.Timedelta(days=days)
            before = pd.Timestamp("2024-11-27T14:30Z")  # the session before the cutoff's
            if tf == "1d":  # the owner's daily rule: sessions dated on/after since's NY date
                ny = "America/New_York"
                assert floor.tz_convert(ny).date() >= min(since.tz_convert(ny).date(),
                                                          before.date())
            else:  # intraday: sessions opening at most ``days`` before the cutoff
                assert floor >= min(since, before) and floor in cal.opens, (tf, days, cutoff)


def _jumped_store(tmp_path, name: str, *, earlier_backfill: bool) -> tuple[DataManager, list]:  # type: ignore[no-untyped-def]
    """A store whose owner first followed the clock on 1 November (backfilling behind it
    completely, or not at all), then jumped to 29 November and backfilled ``DEPTH`` there."""
    settings = make_settings(tmp_path / name, market__universe_size=4,
                             market__crypto_symbols=[],
                             market__ingest__history_days=DEPTH)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", replay_start="2024-11-01", replay_end="2024-11-29")
    ctl.advance("2024-11-01T15:00Z")
    feed = MarketFeed(DataManager(settings, db, clock=ctl.clock, owner=True),
                      settings.market.ingest)
    feed.catch_up()
    while earlier_backfill and feed.backfill_step():
        pass
    ctl.advance("2024-11-29T15:00Z")  # the replay's session: the feed walks its history again
    feed.catch_up()
    while feed.backfill_step():
        pass
    reader = DataManager(settings, db, clock=ctl.clock)
    syms = sorted(s for s, i in reader.universe.items() if i.asset_class == "equity")
    return reader, syms


def test_analysis_reads_are_the_same_whatever_the_cut_backfill_left(tmp_path) -> None:  # type: ignore[no-untyped-def]
    full, syms = _jumped_store(tmp_path, "full", earlier_backfill=True)
    cut, _ = _jumped_store(tmp_path, "cut", earlier_backfill=False)
    # the stores differ: October's hourly bars are only in the one whose backfill ran
    old = "2024-10-20T00:00Z", "2024-10-31T00:00Z"
    assert len(full.get_bars(syms[0], "1h", *old)) > 0
    assert len(cut.get_bars(syms[0], "1h", *old)) == 0
    # technical analysis's default windows (15m 30 days, 1h 90, 1d 500) and its widening
    # read for a number of bars see the same bars in both
    for tf, days in (("15m", 30), ("1h", 90), ("1d", 500), ("5m", 16)):
        a = load_bars_many(full, syms, tf, {}, days=days)
        b = load_bars_many(cut, syms, tf, {}, days=days)
        for s in syms:
            assert a[s].ts.tolist() == b[s].ts.tolist(), (tf, s)
            assert a[s].ts[0] >= history_start(full, tf).value
        wide_a = load_bars(full, syms[0], tf, bars=5000)
        wide_b = load_bars(cut, syms[0], tf, bars=5000)
        assert wide_a.ts.tolist() == wide_b.ts.tolist() and len(wide_a) > 0, tf
    # a range the caller names is read as asked (the dashboard's chart, a report)
    assert len(full.get_bars(syms[0], "1h", *old)) > 0
    start = pd.Timestamp("2024-10-01T00:00Z")
    assert within_history(full, "1h", start) == history_start(full, "1h") > start
    assert within_history(object(), "1h", start) == start  # a reader without an owner's depth
