"""The market-data owner (``MarketFeed``) and its readers, on a real SQLite file."""
from __future__ import annotations

import sqlite3
import time

import numpy as np
import pandas as pd
import pytest

from shared.db import Database, migrate
from shared.db.ownership import MARKET_TABLES
from shared.errors import NotFound, ValidationError
from shared.market import ClockController, DataManager
from shared.market.feed import MarketFeed, market_data_status
from shared.market.limits import check_range
from tests.conftest import make_settings, own_market

SMALL = {"market__universe_size": 30, "market__crypto_symbols": ["BTC/USD"]}


@pytest.fixture
def market(tmp_path):  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, **SMALL)
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", replay_start="2024-03-05", replay_end="2024-03-29")
    ctl.advance("2024-03-05T15:00Z")  # 10:00 New York, half an hour into the session
    yield settings, db, ctl
    db.close()


def _bar_rows(db: Database) -> list[tuple]:
    return [tuple(r) for r in db.fetch_all(
        "SELECT symbol, timeframe, ts, open_micros, high_micros, low_micros, close_micros, "
        "volume FROM bars ORDER BY symbol, timeframe, ts")]


def test_catch_up_prices_every_symbol_up_to_the_clock(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    feed = own_market(settings, db, ctl.clock)
    reader = DataManager(settings, db, clock=ctl.clock)
    equities = [s for s, i in reader.universe.items() if i.asset_class == "equity"]
    for sym in [*equities, "BTC/USD"]:
        bars = reader.get_bars(sym, "1m", start="2024-03-05T14:30Z")
        assert len(bars) > 0, sym
        # nothing that had not closed at the clock is served
        assert bars.ts[-1] + 60_000_000_000 <= ctl.clock.now_ts().value
        assert reader.get_latest_price(sym).price > 0
    # the open session's bars up to the clock: 30 one-minute bars, 6 five-minute bars
    one = reader.get_bars(equities[0], "1m", start="2024-03-05T14:30Z")
    five = reader.get_bars(equities[0], "5m", start="2024-03-05T14:30Z")
    assert len(one) == 30 and len(five) == 6
    # the previous session's daily bar is there with its minutes
    daily = reader.get_bars(equities[0], "1d", start="2024-03-01")
    assert len(daily) == 1  # no history asked for: only the last closed session's
    assert pd.Timestamp(int(daily.ts[0]), tz="UTC").tz_convert("America/New_York") == \
        pd.Timestamp("2024-03-04", tz="America/New_York")
    assert feed.status()["through"].startswith("2024-03-05T15:00")


def test_the_first_catch_up_prices_everyone_and_the_backfill_completes_it(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    feed = MarketFeed(dm, settings.market.ingest.model_copy(update={"history_days": {}}))
    feed.catch_up()
    prev = "SELECT COUNT(*) FROM bars WHERE timeframe = '1m' AND ts < '2024-03-05' AND symbol = ?"
    sym = feed.equities[0]
    assert db.fetch_one(prev, (sym,))[0] == 60  # the last hour of Mar 4: every symbol priced
    while feed.backfill_step():
        pass
    assert db.fetch_one(prev, (sym,))[0] == 390  # then the whole session


def test_the_clock_moving_stores_only_the_new_bars(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    feed = own_market(settings, db, ctl.clock)
    n = db.fetch_one("SELECT COUNT(*) FROM bars WHERE timeframe = '1m'")[0]
    ctl.step(5)
    feed.catch_up()
    grown = db.fetch_one("SELECT COUNT(*) FROM bars WHERE timeframe = '1m'")[0] - n
    assert grown == 5 * 31  # five minutes of 30 equities and the crypto pair
    assert feed.catch_up() == 0  # nothing missing: nothing written


def test_readers_only_read(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    reader = DataManager(settings, db, clock=ctl.clock)
    sym = next(iter(reader.universe))
    # before the owner stored anything a reader gets nothing, and writes nothing
    assert len(reader.get_bars(sym, "1m")) == 0
    assert len(reader.get_bars(sym, "1d")) == 0
    for table in MARKET_TABLES:
        if table != "market_clock":
            assert db.fetch_one(f"SELECT COUNT(*) FROM {table}")[0] == 0, table  # noqa: S608
    assert reader.get_bars(sym, "1m").stale  # and it says its data is stale


def test_a_protected_database_refuses_market_writes(market) -> None:  # type: ignore[no-untyped-def]
    settings, _, _ = market
    reader_db = Database.from_settings(settings)
    reader_db.get_db_connection()  # protection reaches connections already open, too
    reader_db.protect(MARKET_TABLES)
    for sql in ("INSERT INTO symbols (symbol, name, sector, asset_class, exchange, source, "
                "updated_at) VALUES ('X', 'x', 'x', 'equity', 'x', 'x', 'x')",
                "DELETE FROM bars", "UPDATE market_clock SET speed = 1",
                "INSERT INTO market_feed VALUES (1, 'x', 1, 'x', 'x', 'x')"):
        with pytest.raises(sqlite3.DatabaseError, match="not authorized"):
            reader_db.execute_with_retry(sql)
    # its own tables stay writable, and reads of the market tables work
    reader_db.execute_with_retry("INSERT INTO service_events (service, event, at) VALUES "
                                 "('scanner', 'start', 'now')")
    assert reader_db.fetch_one("SELECT COUNT(*) FROM bars")[0] == 0
    reader_db.close()


def test_unknown_symbols_are_404_and_store_nothing(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    own_market(settings, db, ctl.clock)
    before = _bar_rows(db)
    reader = DataManager(settings, db, clock=ctl.clock)
    with pytest.raises(NotFound, match="ZZZQX"):
        reader.get_bars("ZZZQX", "1m")
    with pytest.raises(NotFound, match="QQQQQ"):
        reader.get_latest_price("QQQQQ")
    errors: dict = {}
    sym = next(iter(reader.universe))
    got = reader.get_bars_many([sym, "ZZZQX"], "1m", errors=errors)
    assert set(got) == {sym} and isinstance(errors["ZZZQX"], NotFound)
    assert _bar_rows(db) == before


def test_same_seed_same_bars_whoever_reads_first(tmp_path) -> None:  # type: ignore[no-untyped-def]
    stores = []
    for k, order in enumerate((1, -1)):
        settings = make_settings(tmp_path / str(k), **SMALL)
        db = Database.from_settings(settings)
        migrate(db)
        ctl = ClockController(db, settings.market.clock)
        ctl.reset()
        ctl.configure(pace="step", replay_start="2024-03-05", replay_end="2024-03-29")
        ctl.advance("2024-03-05T15:00Z")
        reader = DataManager(settings, db, clock=ctl.clock)
        for sym in list(reader.universe)[::order]:  # readers first, in opposite orders
            reader.get_bars(sym, "5m")
        feed = own_market(settings, db, ctl.clock)
        for sym in list(reader.universe)[::order]:
            reader.get_bars(sym, "1m")
        ctl.step(7)
        feed.catch_up()
        stores.append(_bar_rows(db))
        db.close()
    assert stores[0] == stores[1] and len(stores[0]) > 1000


def test_backfill_goes_back_to_the_configured_depth(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    own_market(settings, db, ctl.clock, history_days={"1m": 3, "5m": 8, "1d": 40})
    reader = DataManager(settings, db, clock=ctl.clock)
    sym = next(iter(reader.universe))
    one = reader.get_bars(sym, "1m", start="2024-02-20")
    days = {pd.Timestamp(t, tz="UTC").date() for t in one.ts}
    assert min(days).isoformat() >= "2024-03-01"  # 3 days back: Mar 1 (Fri) and Mar 4
    five = reader.get_bars(sym, "5m", start="2024-02-20")
    assert pd.Timestamp(int(five.ts[0]), tz="UTC").date().isoformat() >= "2024-02-26"
    daily = reader.get_bars(sym, "1d", start="2024-01-01")
    assert 25 <= len(daily) <= 30  # 40 calendar days of sessions
    # the daily bars are the sessions' minutes aggregated
    owner = DataManager(settings, db, clock=ctl.clock, owner=True)
    frame = owner.get_historical_data(sym, "1m", start="2024-03-04", end="2024-03-05")
    row = reader.get_bars(sym, "1d", start="2024-03-04", end="2024-03-05")
    assert row.high[0] == frame["high"].max() and row.low[0] == frame["low"].min()
    assert row.volume[0] == frame["volume"].sum()


def test_status_says_stale_when_the_owner_falls_behind(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    own_market(settings, db, ctl.clock)
    assert market_data_status(db, settings)["stale"] is False
    ctl.step(30)  # the clock moves on, the owner does not follow (it is down)
    time.sleep(0.02)  # past the readers' clock cache (market.clock.cache_ms)
    status = market_data_status(db, settings)
    assert status["stale"] is True and status["through"].startswith("2024-03-05T15:00")
    reader = DataManager(settings, db, clock=ctl.clock)
    sym = next(iter(reader.universe))
    assert reader.get_bars(sym, "1m").stale  # what is stored is served, marked stale


def test_reads_are_bounded_whatever_the_caller_asks(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    own_market(settings, db, ctl.clock)
    reader = DataManager(settings, db, clock=ctl.clock)
    sym = next(iter(reader.universe))
    bars = reader.get_bars(sym, "1m", start="1970-01-01")  # clamped, not decades
    assert len(bars) > 0 and np.all(np.diff(bars.ts) > 0)


@pytest.mark.parametrize(("tf", "start", "end", "field", "words"), [
    ("1m", "1970-01-01T00:00Z", None, "start", "before the earliest"),
    ("1m", "0", None, "start", "not a time"),
    ("1m", "2024-01-01", "2024-06-01", "start", "at most 62 days"),
    ("5m", "foo", None, "start", "not a time"),
    ("1m", None, "bar", "end", "not a time"),
    ("1h", "2024-03-05", "2024-03-01", "start", "after end"),
    ("2m", None, None, "timeframe", "unknown timeframe"),
])
def test_check_range_names_the_field(tf, start, end, field, words) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as err:
        check_range(tf, start, end, now=pd.Timestamp("2024-03-05T15:00Z"))
    assert err.value.field == field and words in err.value.message


def test_check_range_accepts_what_is_allowed() -> None:
    s, e = check_range("1d", "2004-08-19", "2024-03-05")
    assert s.year == 2004 and e.year == 2024
    assert check_range("1m", None, None) == (None, None)


def test_feed_follows_a_running_clock_in_its_thread(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    feed = MarketFeed(dm, settings.market.ingest.model_copy(update={"history_days": {}}))
    feed.start()
    try:
        ctl.configure(pace="multiplier", speed=600)
        ctl.resume()
        deadline = time.monotonic() + 20
        target = pd.Timestamp("2024-03-05T15:20Z")
        while time.monotonic() < deadline:
            row = db.fetch_one("SELECT through_ts FROM market_feed")
            if row and pd.Timestamp(row[0]) >= target:
                break
            time.sleep(0.1)
        ctl.pause()
        feed.catch_up()
        last = db.fetch_one("SELECT MAX(ts) FROM bars WHERE timeframe = '1m' AND "
                            "symbol NOT LIKE '%/%'")[0]
        assert pd.Timestamp(last) >= target - pd.Timedelta(minutes=2)
        assert feed.status()["running"] and feed.status()["errors"] == 0
    finally:
        feed.stop()


def test_a_jump_of_the_clock_walks_the_history_again(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    feed = own_market(settings, db, ctl.clock, history_days={"1d": 10})
    reader = DataManager(settings, db, clock=ctl.clock)
    sym = next(iter(reader.universe))
    ctl.advance("2024-03-26T15:00Z")  # three weeks on
    feed.catch_up()
    while feed.backfill_step():
        pass
    daily = reader.get_bars(sym, "1d", start="2024-03-14")
    # the ten days behind the new time are there (Mar 18..25: 6 sessions)
    assert len(daily) == 6
    assert pd.Timestamp(int(daily.ts[0]), tz="UTC").tz_convert("America/New_York") == \
        pd.Timestamp("2024-03-18", tz="America/New_York")
    assert feed.status()["backfill"] == "done"


def test_the_backfill_stores_recent_daily_bars_before_older_minutes(market) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    feed = MarketFeed(dm, settings.market.ingest.model_copy(
        update={"history_days": {"5m": 10, "1d": 300}}))
    feed.catch_up()
    sym = feed.equities[0]
    older_5m = ("SELECT COUNT(*) FROM bars WHERE symbol = ? AND timeframe = '5m' "
                "AND ts < '2024-03-04'")
    daily = "SELECT COUNT(*) FROM bars WHERE symbol = ? AND timeframe = '1d'"
    assert feed.status()["history_ready"] is False
    while feed.backfill_step():
        if db.fetch_one(older_5m, (sym,))[0]:
            break
    # a scan's 60-day averages were there before the first older intraday bar
    assert db.fetch_one(daily, (sym,))[0] >= 60
    while feed.backfill_step():
        pass
    assert db.fetch_one(daily, (sym,))[0] >= 200  # then the rest of the 300 days
    assert feed.status()["history_ready"] is True


def test_keepers_drop_their_bars_when_the_owner_backfills_behind_them(market) -> None:  # type: ignore[no-untyped-def]
    from services.scanner.bar_cache import WindowBars

    settings, db, ctl = market
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    feed = MarketFeed(dm, settings.market.ingest.model_copy(update={"history_days": {"5m": 8}}))
    feed.catch_up()
    reader = DataManager(settings, db, clock=ctl.clock)
    sym = feed.equities[0]
    window = WindowBars(lambda: reader, "5m")
    start = pd.Timestamp("2024-02-28T00:00Z")
    now = ctl.clock.now_ts()
    before = window.get([sym], start, now, {})[sym]
    epoch = reader.history_epoch()
    while feed.backfill_step():
        pass
    time.sleep(1.1)  # past the readers' once-a-second look at the owner's row
    assert reader.history_epoch() > epoch
    after = window.get([sym], start, now, {})[sym]
    fresh = reader.get_bars(sym, "5m", start)
    assert len(after) > len(before) and np.array_equal(after.ts, fresh.ts)


def test_the_feed_checkpoints_the_wal_in_a_thread_of_its_own(market) -> None:  # type: ignore[no-untyped-def]
    """A catch-up's commits leave the WAL alone (below database.wal_autocheckpoint_pages);
    the feed's checkpoint thread copies it back every ``checkpoint_s`` and says so."""
    settings, db, ctl = market
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    off = MarketFeed(dm, settings.market.ingest.model_copy(
        update={"history_days": {}, "checkpoint_s": 0}))
    off.start()
    off.stop()
    assert off._checkpointer is None and off.status()["checkpoints"] == 0  # 0: never
    feed = MarketFeed(dm, settings.market.ingest.model_copy(
        update={"history_days": {}, "checkpoint_s": 0.2}))
    ctl.step(30)
    feed.catch_up()
    # what the catch-ups wrote is still in the WAL: their commits checkpointed nothing
    probe = sqlite3.connect(settings.database_path)
    frames = probe.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
    probe.execute("PRAGMA wal_checkpoint(TRUNCATE)")  # an empty WAL for the thread's turn
    assert frames[1] > 100
    ctl.step(5)
    feed.start()  # a catch-up, then the feed's thread and the checkpoint thread
    try:
        deadline = time.monotonic() + 10
        while feed.status()["checkpoint_frames"] == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        feed.stop()
    status = feed.status()
    assert status["checkpoints"] >= 1 and status["checkpoint_frames"] > 0, status
    assert not feed._checkpointer.is_alive()  # stop() ends it too
    probe.close()
