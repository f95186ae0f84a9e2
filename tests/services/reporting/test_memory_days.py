"""Reporting across simulated days: a snapshot at every clock step keeps its process's bar
cache to the last steps' reads (market-time TTL), and each equity equals one priced without
any cache."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from services.reporting.service import ReportingService
from shared.analytics import Fill
from shared.market import ClockController, DataManager, get_data_manager, reset_data_manager
from tests.conftest import make_settings, own_market
from tests.services.reporting.paper_book import book, open_account


@pytest.fixture
def market(tmp_path):  # type: ignore[no-untyped-def]
    from shared.db import Database, migrate

    settings = make_settings(tmp_path, market__universe_size=30, market__crypto_symbols=[])
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", step_minutes=15, replay_start="2024-03-05",
                  replay_end="2024-03-29")
    ctl.step(2)
    reset_data_manager()
    yield settings, db, ctl
    reset_data_manager()
    db.close()


def test_snapshots_over_three_days_keep_the_cache_bounded_and_priced_as_uncached(market
                                                                                 ) -> None:  # type: ignore[no-untyped-def]
    settings, db, ctl = market
    feed = own_market(settings, db, ctl.clock)
    syms = feed.equities[:3]
    now = ctl.clock.now()
    prices = {s: feed.dm.get_latest_price(s).price for s in syms}
    open_account(db)
    book(db, [Fill(now - timedelta(minutes=1), s, "buy", Decimal(5), prices[s], order_id=s)
              for s in syms])
    svc = ReportingService(settings, db)
    dm = get_data_manager(settings)
    plain = DataManager(settings, db)  # a reader whose cache is emptied before each price
    cal = ctl.clock.calendar
    sizes, days = [], {cal.session_of(now)}
    while len(days) < 4:
        ctl.step(1)
        feed.catch_up()
        for reader in (dm, plain):
            reader.clock.invalidate()
            reader._feed = (-1e9, None, 0)  # reads the feed's row again (else once a second)
        snap = svc.snapshot()
        plain.memory.clear()
        cash = Decimal(100000) - sum(5 * prices[s] for s in syms)
        marks = sum(5 * plain.get_latest_price(s).price for s in syms)
        assert Decimal(snap["equity"]) == (cash + marks).quantize(Decimal("0.01"))
        assert snap["unpriced"] == []
        sizes.append(dm.memory.stats()["size"])
        days.add(cal.session_of(ctl.clock.now()))
    assert len(sizes) > 45  # two sessions of 26 steps and the start of a third
    # each step moves the clock 15 market minutes, past the 300 s TTL: only the last
    # snapshot's reads stay (one window per position, two after a close); a wall-time TTL
    # kept every snapshot's of the last five minutes (here: all of them)
    assert len(syms) <= max(sizes) <= 2 * len(syms)
    plain.close()
