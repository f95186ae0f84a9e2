"""The market owner stores the crypto pairs' bars of every UTC day, the days between equity
sessions included: a feed starting (or jumping) to a Monday backfills the weekend before it
along with Friday's session, and a catch-up after a jump of the clock stores every day the
clock jumped over."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from shared.db import Database, migrate
from tests.conftest import make_settings, own_market

PAIRS = ["BTC/USD"]
#: Monday 2024-03-11, 15:00 UTC (EDT since Sunday)
MONDAY = datetime(2024, 3, 11, 15, 0, tzinfo=UTC)
FRIDAY = datetime(2024, 3, 8, tzinfo=UTC)


def _minutes(db: Database, tf: str, lo: datetime, hi: datetime) -> list[datetime]:
    rows = db.fetch_all("SELECT ts FROM bars WHERE symbol = 'BTC/USD' AND timeframe = ? AND "
                        "ts >= ? AND ts < ? ORDER BY ts", (tf, lo.isoformat(), hi.isoformat()))
    return [datetime.fromisoformat(r[0]) for r in rows]


@pytest.fixture
def db(tmp_path):  # type: ignore[no-untyped-def]
    from shared.market import ClockController

    settings = make_settings(tmp_path, market__universe_size=3, market__crypto_symbols=PAIRS)
    database = Database.from_settings(settings)
    migrate(database)
    ctl = ClockController(database, settings.market.clock)
    database.settings, database.ctl = settings, ctl  # type: ignore[attr-defined]
    yield database
    database.close()


def test_the_backfill_stores_the_weekend_before_a_monday(db) -> None:  # type: ignore[no-untyped-def]
    db.ctl.advance(MONDAY)
    own_market(db.settings, db, db.ctl.clock, history_days={"1m": 4, "1h": 5})
    minute = timedelta(minutes=1)
    got = _minutes(db, "1m", FRIDAY, MONDAY + minute)
    want = [FRIDAY + i * minute for i in range(int((MONDAY - FRIDAY) / minute))]
    assert got == want  # Friday, Saturday, Sunday (a 23-hour New York day) and Monday
    hours = _minutes(db, "1h", FRIDAY, MONDAY)
    assert len(hours) == 24 * 3 + 15


def test_a_catch_up_stores_every_day_the_clock_jumped_over(db) -> None:  # type: ignore[no-untyped-def]
    friday_close = datetime(2024, 3, 8, 21, 0, tzinfo=UTC)
    db.ctl.advance(friday_close)
    feed = own_market(db.settings, db, db.ctl.clock, history_days={})
    db.ctl.advance(datetime(2024, 3, 11, 13, 31, tzinfo=UTC))  # Monday's open, a session on
    feed.catch_up()
    minute = timedelta(minutes=1)
    end = datetime(2024, 3, 11, 13, 31, tzinfo=UTC)
    got = _minutes(db, "1m", friday_close, end)
    assert got == [friday_close + i * minute for i in range(int((end - friday_close) / minute))]
    days = _minutes(db, "1d", FRIDAY, end)
    assert days == [FRIDAY + timedelta(days=d) for d in range(3)]
