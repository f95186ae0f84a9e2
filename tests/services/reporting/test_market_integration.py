"""The service on the real market data manager and clock (simulated market, no fakes)."""
from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest

from services.reporting.service import ReportingService
from shared.analytics import Fill
from shared.market import ClockController, get_data_manager, reset_data_manager
from tests.conftest import own_market
from tests.services.reporting.paper_book import book, open_account

OPEN = datetime.fromisoformat("2024-01-02T14:30:00+00:00")


@pytest.fixture
def dm(settings, db):
    reset_data_manager()
    manager = get_data_manager(settings)
    yield manager
    reset_data_manager()


def test_snapshot_and_excursions_from_visible_market_data(settings, db, dm) -> None:
    symbol = sorted(dm.universe)[0]
    clock = ClockController(db, settings.market.clock)
    clock.advance(OPEN + timedelta(minutes=90))
    own_market(settings, db, clock.clock)  # what coordination's market feed stores
    dm.clock.invalidate()
    bars = dm.get_historical_data(symbol, "1m", OPEN, OPEN + timedelta(minutes=90))
    entry_ts, exit_ts = bars.index[10], bars.index[40]
    entry_px = Decimal(str(bars["close"].iloc[10]))
    exit_px = Decimal(str(bars["close"].iloc[40]))
    open_account(db)
    book(db, [
        Fill(entry_ts + timedelta(minutes=1), symbol, "buy", Decimal(10), entry_px,
             order_id="e1"),
        Fill(exit_ts + timedelta(minutes=1), symbol, "sell", Decimal(10), exit_px,
             order_id="x1"),
        Fill(exit_ts + timedelta(minutes=2), symbol, "buy", Decimal(4), exit_px, order_id="e2"),
    ])
    svc = ReportingService(settings, db)
    assert svc.now() == OPEN + timedelta(minutes=90)
    snap = svc.snapshot()
    last = dm.get_latest_price(symbol).price
    cash = Decimal(100000) - 10 * entry_px + 10 * exit_px - 4 * exit_px
    assert Decimal(snap["equity"]) == (cash + 4 * last).quantize(Decimal("0.01"))
    assert snap["unpriced"] == []
    closed, still_open = svc.trips()
    # independent: fills happen at their bar's close, so the trade lived through the bars
    # after the entry bar up to and including the exit bar
    window = bars.loc[entry_ts + timedelta(minutes=1):exit_ts]
    hi = max(Decimal(str(window["high"].max())), entry_px, exit_px)
    lo = min(Decimal(str(window["low"].min())), entry_px, exit_px)
    assert (closed.mfe, closed.mae) == ((hi - entry_px) * 10, (lo - entry_px) * 10)
    # the open trip sees bars up to the clock's now only (no look-ahead)
    later = bars.loc[exit_ts + timedelta(minutes=2):]
    assert later.index[-1] < svc.now()
    hi = max(Decimal(str(later["high"].max())), exit_px)
    lo = min(Decimal(str(later["low"].min())), exit_px)
    assert still_open.is_open
    assert (still_open.mfe, still_open.mae) == ((hi - exit_px) * 4, (lo - exit_px) * 4)
    with pytest.raises(Exception, match="after the market clock"):
        svc.snapshot(ts=OPEN + timedelta(minutes=91))
