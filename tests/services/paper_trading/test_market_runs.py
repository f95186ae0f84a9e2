"""Market runs in paper trading, without HTTP: the archive of a closing run, its fence, the
write check while the clock is still in the old run, and the clock's side of the switch."""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

import pytest

from shared.errors import Conflict, ServiceUnavailable
from shared.market import ClockController
from shared.trading.schemas import OrderRequest
from tests.services.paper_trading.helpers import OPEN, seed_bars

M = timedelta(minutes=1)
BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103), (103, 103, 95, 96)]


def _trade(svc, clock) -> None:  # noqa: ANN001
    """A round trip and an open position in run 1."""
    clock.t = OPEN + M
    svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=10))
    clock.t = OPEN + 3 * M
    svc.process_until()
    svc.submit_order(OrderRequest(symbol="AAPL", side="sell", qty=4))
    clock.t = OPEN + 4 * M
    svc.process_until()


def _fence(db) -> dict[str, int]:  # noqa: ANN001
    row = db.fetch_one("SELECT (SELECT COALESCE(MAX(id), 0) FROM pt_fills), "
                       "(SELECT COALESCE(MAX(id), 0) FROM pt_ledger)")
    return {"fills": row[0], "ledger": row[1]}


def test_start_archives_the_run_and_refuses_writes_until_the_clock_follows(  # noqa: ANN001
        svc, db, clock, settings) -> None:
    seed_bars(db, "AAPL", OPEN, BARS)
    _trade(svc, clock)
    fills, ledger = svc.fills(), svc.ledger()
    assert len(fills) == 2 and svc.positions()[0].position.qty == Decimal(6)
    runs = svc.market_runs
    with pytest.raises(Conflict):  # a row booked after the report's fence
        runs.start(2, {**_fence(db), "fills": _fence(db)["fills"] - 1})
    with pytest.raises(Conflict):  # not the next run
        runs.start(3, _fence(db))
    last_event = db.fetch_one("SELECT MAX(id) FROM trade_events")[0]
    out = runs.start(2, _fence(db), OPEN)
    assert out["archived"]["fill"] == 2 and out["archived"]["position"] == 1
    # the event feed goes on after the archived events (Last-Event-ID resumes), run 2's first
    assert [tuple(r) for r in db.fetch_all("SELECT id, type, created_at FROM trade_events")] \
        == [(last_event + 1, "market_run", OPEN.isoformat())]
    assert out["archived"]["order"] == 2 and out["archived"]["account"] == 1
    assert svc.fills() == [] and svc.ledger() == [] and svc.positions() == []
    snap = svc.account_snapshot()
    assert snap.figures.cash == snap.figures.equity == Decimal(settings.paper_trading.starting_cash)
    assert snap.epoch == 1 and snap.daytrade_count == 0
    assert svc.invariants()["ok"]
    # the archive holds the run as it was, money back as Decimal
    back = runs.rows(1, "fill", 1, 100, 0)
    assert [(f["id"], f["price"], f["qty"]) for f in back] == sorted(
        (f["id"], f["price"], f["qty"]) for f in fills)
    assert sorted(r["amount"] for r in runs.rows(1, "ledger", 1, 100, 0)) == sorted(
        r["amount"] for r in ledger)
    # the clock is still in run 1: no write until it follows, a read's sweep just waits
    clock.t = OPEN + 5 * M
    with pytest.raises(ServiceUnavailable):
        svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=1))
    svc.maybe_process()
    assert runs.start(2, {"fills": 0, "ledger": 0})["already_started"]
    ClockController(db, settings.market.clock).start_run(1, paused=True)
    o = svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=1))
    assert o.status in ("new", "accepted") and [x.id for x in svc.list_orders(status="all")] == [o.id]


def test_the_clock_keeps_speed_and_mode_and_moves_the_run_once(db, settings) -> None:  # noqa: ANN001
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="multiplier", speed=130.0, step_minutes=5)
    ctl.pause()
    ctl.step(30)
    st = ctl.start_run(1, paused=True)
    assert (st.run, st.mode, st.pace, st.speed, st.step_minutes) == (2, "replay", "multiplier",
                                                                     130.0, 5)
    assert ctl.clock.state().run == 2 and ctl.clock.now_ts() == st.replay_start
    with pytest.raises(Conflict):  # a second rewind sent for the same run
        ctl.start_run(1, paused=True)
    runs = db.fetch_all("SELECT run, clock_end, speed FROM market_runs ORDER BY run")
    assert [r["run"] for r in runs] == [1, 2] and runs[0]["speed"] == 130.0
    ctl.step(3)
    assert ctl.reset(paused=True).speed == 130.0  # reset rewinds the time only


def test_an_order_on_a_cached_clock_of_the_closed_run_is_refused(tmp_path) -> None:  # noqa: ANN001
    """The clock's row is cached ``cache_ms``: an order whose "now" is the closed run's (read
    just before the rewind) must not be booked into the new run after its clock."""
    from services.paper_trading.service_layer.service import PaperTradingService
    from shared.db import Database, migrate
    from tests.conftest import make_settings

    s = make_settings(tmp_path, market__clock__cache_ms=5000)
    db = Database.from_settings(s)
    migrate(db)
    ctl = ClockController(db, s.market.clock)
    ctl.reset(paused=True)
    ctl.step(10)  # 14:40 UTC
    seed_bars(db, "AAPL", OPEN, [(100, 100, 100, 100)] * 30)
    svc = PaperTradingService(s, database=db)
    svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=1))  # its clock: run 1, 14:40
    assert svc.market_runs.start(2, _fence(db))["archived"]["order"] == 1
    ctl.start_run(1, paused=True)  # back to 14:30 in run 2 (another process's cache: stale)
    with pytest.raises(ServiceUnavailable):
        svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=2))
    assert svc.list_orders(status="all") == []
    # read afresh: 14:30, no bar closed yet in run 2, so a limit order
    o = svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=2, type="limit",
                                      limit_price=99))
    assert o.submitted_at == OPEN
    # the fill sweep too: a "now" of the closed run books nothing into the next one
    svc.now()  # cached: run 2
    assert svc.market_runs.start(3, _fence(db))["archived"]["order"] == 1
    ctl.start_run(2, paused=True)
    with pytest.raises(ServiceUnavailable):
        svc.process_until()
    assert svc.process_until()["bars"] == 0  # read afresh: 14:30 of run 3, nothing closed yet
