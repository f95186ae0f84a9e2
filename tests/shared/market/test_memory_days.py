"""What the market owner and the data manager keep across simulated days stays bounded (counted
entries, not RSS), and the answers equal those computed without the caches."""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest

from shared.db import Database, migrate
from shared.market import ClockController, DataManager, SimulatedProvider
from shared.market.memcache import ForwardTimer
from shared.market.symbols import universe_map
from tests.conftest import make_settings, own_market

SMALL = {"market__universe_size": 30, "market__crypto_symbols": ["BTC/USD"],
         "market__memory_cache_ttl_s": 120.0}
DAYS = 4
_FIELDS = ("open", "high", "low", "close", "volume", "vwap", "trade_count")


def _is_crypto(key: tuple[Any, ...]) -> bool:
    return "/" in key[1][0]


@pytest.fixture(scope="module")
def replay(tmp_path_factory: pytest.TempPathFactory) -> Any:
    """The owner's feed stepped 30 minutes at a time across ``DAYS`` session changes, with
    what it keeps recorded at each one (session label, provider's cached keys, the feed's
    marks)."""
    settings = make_settings(Path(tmp_path_factory.mktemp("days")), **SMALL)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", step_minutes=30, replay_start="2024-03-05",
                  replay_end="2024-03-29")
    feed = own_market(settings, db, ctl.clock)
    sim = feed.dm.providers.get("simulated")
    cal = ctl.clock.calendar
    seen: list[dict[str, Any]] = []
    session = cal.session_of(ctl.clock.now_ts())
    while len(seen) < DAYS:
        ctl.step(1)
        now = ctl.clock.now_ts()
        feed.catch_up()
        label = cal.session_of(now)
        if label is not None and label != session:
            session = label
            seen.append({"session": label, "now": now, "keys": list(sim._sessions.keys()),
                         "checked": len(feed._checked)})
    yield settings, db, ctl, feed, seen
    db.close()


def test_the_owner_keeps_only_the_open_days_generated_sessions(replay: Any) -> None:
    *_, seen = replay
    assert [s["session"] for s in seen] == [pd.Timestamp(d) for d in (
        "2024-03-06", "2024-03-07", "2024-03-08", "2024-03-11")]
    for s in seen:
        equity = {pd.Timestamp(k[0]) for k in s["keys"] if not _is_crypto(k)}
        crypto = {pd.Timestamp(k[0]) for k in s["keys"] if _is_crypto(k)}
        assert equity == {s["session"]}  # not the days before (the LRU kept four)
        assert crypto <= {s["now"].floor("D").tz_localize(None)}


def test_the_feeds_marks_stay_bounded_over_the_days(replay: Any) -> None:
    *_, feed, seen = replay
    # the last two sessions and two crypto days, five timeframes each
    assert all(s["checked"] <= 20 for s in seen)
    assert len(feed._checked) <= 20
    sessions = {k[1] for k in feed._checked if k[0] == "s"}
    assert len(sessions) <= 2


def test_bars_stored_across_the_days_equal_a_fresh_providers(replay: Any) -> None:
    settings, db, ctl, feed, seen = replay
    fresh = SimulatedProvider(settings.market.seed, feed.dm.universe, ctl.clock.calendar)
    syms = feed.equities[:3]
    day = seen[1]["session"]  # generated while open, evicted two days later
    arr = fresh.generate_session(day, syms)
    o, c = ctl.clock.calendar.session_bounds(day)
    for i, sym in enumerate(syms):
        bars = feed.dm.store.read_arrays([sym], "1m", o.isoformat(), c.isoformat())[sym]
        assert len(bars) == 390
        np.testing.assert_array_equal(bars.ts, arr.ts_ns)
        np.testing.assert_array_equal(bars.close, arr.close[i])
        np.testing.assert_array_equal(bars.volume, arr.volume[i])


def test_a_day_asked_again_after_its_eviction_is_generated_identically(calendar) -> None:
    sim = SimulatedProvider(7, universe_map(7, 12, ("BTC/USD",)), calendar)
    syms = [s for s, i in sim.universe.items() if i.asset_class == "equity"][:4]
    first = sim.session_cached("2024-03-05", syms)
    btc = sim.session_cached("2024-03-05", ["BTC/USD"])
    sim.session_cached("2024-03-05", syms[:2])  # another chunk of the same day: both kept
    assert len(sim._sessions) == 3
    sim.session_cached("2024-03-06", syms)  # the next session: the equities' day goes
    assert {(pd.Timestamp(k[0]).day, len(k[1])) for k in sim._sessions.keys()} == \
        {(6, 4), (5, 1)}  # crypto keeps its own day
    again = sim.session_cached("2024-03-05", syms)
    assert again is not first
    for f in ("ts_ns", *_FIELDS):
        np.testing.assert_array_equal(getattr(again, f), getattr(first, f))
    assert sim.session_cached("2024-03-05", ["BTC/USD"]) is btc


def test_the_forward_timer_counts_only_forward_moves() -> None:
    t = ForwardTimer()
    assert t() == 0.0
    t.advance(10 * 10**9)
    assert t() == 0.0  # the first time seen is the origin
    t.advance(70 * 10**9)
    assert t() == 60.0
    t.advance(5 * 10**9)  # a rewind
    assert t() == 60.0
    t.advance(35 * 10**9)
    assert t() == 90.0


@pytest.fixture
def stepped(tmp_path: Path) -> Any:
    settings = make_settings(tmp_path, **SMALL)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", step_minutes=1, replay_start="2024-03-05",
                  replay_end="2024-03-29")
    ctl.advance("2024-03-06T15:00Z")
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    yield dm, ctl
    dm.close()
    db.close()


def test_the_bar_cache_expires_on_market_time_and_answers_as_without_it(stepped: Any) -> None:
    dm, ctl = stepped
    syms = [s for s, i in dm.universe.items() if i.asset_class == "equity"][:5]
    sizes = []
    for _ in range(12):  # a read a market minute: each one's keys are new
        cached = dm.get_bars_many(syms, "1m", start_hours_ago=2)
        plain = dm.get_bars_many(syms, "1m", start_hours_ago=2, cache=False)
        for sym in syms:
            for f in ("ts", *_FIELDS):
                np.testing.assert_array_equal(getattr(cached[sym], f), getattr(plain[sym], f))
        sizes.append(dm.memory.stats()["size"])
        ctl.step(1)
    # a TTL of 120 market seconds: the reads of the last two minutes, whatever the wall
    # time (a wall-time TTL of 120 s would hold all twelve minutes' reads)
    assert sizes == [5] + [10] * 11


def test_the_bar_cache_keeps_its_entries_while_the_clock_stands(stepped: Any) -> None:
    dm, ctl = stepped
    syms = [s for s, i in dm.universe.items() if i.asset_class == "equity"][:3]
    dm.get_bars_many(syms, "5m", start_hours_ago=3)
    hits = dm.memory.hits
    for _ in range(3):
        dm.get_bars_many(syms, "5m", start_hours_ago=3)
    assert dm.memory.hits == hits + 9 and dm.memory.stats()["size"] == 3
    ctl.step(3)  # three market minutes > the 120 s TTL: the next read drops them
    dm.get_bars_many(syms[:1], "5m", start_hours_ago=3)
    assert dm.memory.stats()["size"] == 1


def test_the_owner_bounds_sqlites_heap_while_it_runs_and_restores_it(tmp_path: Path) -> None:
    from shared.market.feed import MarketFeed

    settings = make_settings(tmp_path, **SMALL)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset(paused=True)
    feed = MarketFeed(DataManager(settings, db, clock=ctl.clock, owner=True),
                      settings.market.ingest.model_copy(update={"history_days": {}}))
    conn = db.get_db_connection()
    before = conn.execute("PRAGMA soft_heap_limit").fetchone()[0]
    feed.start()
    try:
        # every connection of the process together, the feed's and the cycle's threads'
        assert conn.execute("PRAGMA soft_heap_limit").fetchone()[0] == 16 * 2**20
        assert feed.status()["through"] is not None
    finally:
        feed.stop()
        db.close()
    with sqlite3.connect(":memory:") as other:
        assert other.execute("PRAGMA soft_heap_limit").fetchone()[0] == before
