"""The use cases on a real SQLite file: fills on the clock, groups, expiry, risk, PDT, reset."""
from __future__ import annotations

import threading
from datetime import timedelta
from decimal import Decimal as D
from pathlib import Path

import pytest

from services.paper_trading.service_layer.service import PaperTradingService
from shared.db import Database, migrate
from shared.errors import Forbidden, UnprocessableError
from shared.trading.schemas import OrderRequest, ReplaceRequest
from tests.conftest import make_settings
from tests.services.paper_trading.helpers import CLOSE, OPEN, Clock, flat, seed_bars

M = timedelta(minutes=1)
BARS = [(100, 101, 99, 100.5), (101, 102, 100, 101.5), (102, 104, 101, 103), (103, 103, 95, 96)]


def req(**kw) -> OrderRequest:  # noqa: ANN003
    kw.setdefault("symbol", "AAPL")
    kw.setdefault("side", "buy")
    kw.setdefault("qty", 10)
    return OrderRequest(**kw)


def make(tmp_path: Path, clock: Clock, **overrides) -> tuple[PaperTradingService, Database]:  # noqa: ANN003
    s = make_settings(tmp_path, **overrides)
    db = Database.from_settings(s)
    migrate(db)
    return PaperTradingService(s, database=db, now=clock), db


def test_market_order_waits_for_the_next_bar_open(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + M + timedelta(seconds=20)  # during bar 14:31, after 14:30 closed
    o = svc.submit_order(req())
    clock.t = OPEN + 2 * M  # 14:31 has closed but opened before the order: not usable
    svc.process_until()
    assert svc.get_order(o.id).status == "new"
    clock.t = OPEN + 3 * M  # 14:32 bar closed: fill at its open
    svc.process_until()
    got = svc.get_order(o.id)
    assert got.status == "filled" and got.filled_avg_price == D(102)
    assert svc.fills()[0]["bar_ts"] == "2024-01-02T14:32:00+00:00"
    assert svc.invariants()["ok"]


def test_client_order_id_is_idempotent(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + M
    a = svc.submit_order(req(client_order_id="retry-1"))
    b = svc.submit_order(req(client_order_id="retry-1"))
    assert a.id == b.id and b.qty == D(10)
    assert len(svc.list_orders(status="all")) == 1


def test_racing_processors_never_fill_twice(tmp_path, clock) -> None:  # noqa: ANN001
    svc, db = make(tmp_path, clock)
    seed_bars(db, "AAPL", OPEN, BARS * 3)
    clock.t = OPEN + M
    for i in range(5):
        svc.submit_order(req(qty=1 + i, type="limit", limit_price=101 + i % 3))
    clock.t = OPEN + 12 * M
    others = [PaperTradingService(svc.settings, database=Database.from_settings(svc.settings),
                                  now=clock) for _ in range(4)]
    threads = [threading.Thread(target=o.process_until) for o in others]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    svc.process_until()
    fills = svc.fills(100)
    assert len(fills) == 5 and len({f["order_id"] for f in fills}) == 5
    assert svc.invariants()["ok"]


def test_bracket_exits_become_oco_after_entry_fill(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + M
    o = svc.submit_order(req(qty=5, type="limit", limit_price=D("100.5"), order_class="bracket",
                             take_profit={"limit_price": D("103.5")},
                             stop_loss={"stop_price": 99}))
    assert [leg.status for leg in o.legs] == ["held", "held"]
    clock.t = OPEN + 5 * M
    svc.process_until()
    got = svc.get_order(o.id)
    tp, sl = got.legs
    assert got.filled_avg_price == D("100.5")  # 14:31 bar low 100 <= 100.5, open 101 above
    assert tp.status == "filled" and tp.filled_avg_price == D("103.5")  # 14:32 high 104
    assert sl.status == "canceled" and sl.reason == "oco_sibling_filled"
    assert svc.account_snapshot().positions == []
    assert svc.invariants()["ok"]


def test_a_filled_bracket_with_open_legs_is_listed_open_until_its_legs_end(
        svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + M
    o = svc.submit_order(req(qty=5, order_class="bracket", take_profit={"limit_price": 200},
                             stop_loss={"stop_price": 50}))
    clock.t = OPEN + 2 * M
    svc.process_until()
    assert svc.get_order(o.id).status == "filled"
    # the entry filled, its exits work: a client closing the position must see them
    listed = {r.id: r for r in svc.list_orders(status="open")}
    assert o.id in listed and {leg.status for leg in listed[o.id].legs} == {"new"}
    assert o.id not in {r.id for r in svc.list_orders(status="closed")}
    svc.cancel_order(listed[o.id].legs[0].id)  # its OCO sibling goes with it
    assert {leg.status for leg in svc.get_order(o.id).legs} == {"canceled"}
    assert o.id not in {r.id for r in svc.list_orders(status="open")}
    assert o.id in {r.id for r in svc.list_orders(status="closed")}


def test_day_orders_expire_at_the_close_gtc_do_not(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + M
    day = svc.submit_order(req(type="limit", limit_price=50))
    gtc = svc.submit_order(req(type="limit", limit_price=50, time_in_force="gtc"))
    clock.t = CLOSE + timedelta(minutes=5)
    svc.process_until()
    assert svc.get_order(day.id).status == "expired"
    assert svc.get_order(gtc.id).status == "new"


def _feed_through(db: Database, t) -> None:  # noqa: ANN001
    """Record how far the market owner stored the bars (as coordination's feed does)."""
    db.execute_with_retry(
        "INSERT INTO market_feed (id, through_ts, symbols, backfill, owner, updated_at) "
        "VALUES (1, ?, 1, 'done', 'coordination', ?) ON CONFLICT (id) DO UPDATE SET "
        "through_ts = excluded.through_ts", (t.isoformat(), t.isoformat()))


def test_a_day_order_is_not_expired_before_its_last_bars_are_stored(svc, db, clock) -> None:  # noqa: ANN001
    """A sweep between the clock reaching the close and the owner storing the session's last
    minutes (a client's read triggers one) must not expire a market order that those minutes
    fill."""
    last = CLOSE - 15 * M
    seed_bars(db, "AAPL", OPEN, flat(100, int((last - OPEN) / M)))
    _feed_through(db, last)
    clock.t = last
    order = svc.submit_order(req())  # a market day order in the last quarter hour
    clock.t = CLOSE
    svc.process_until()  # the clock is at the close, the last 15 bars are not stored yet
    assert svc.get_order(order.id).status == "new"
    seed_bars(db, "AAPL", last, flat(101, 15))
    _feed_through(db, CLOSE)
    svc.process_until()
    filled = svc.get_order(order.id)
    assert filled.status == "filled" and filled.filled_avg_price == D(101)


def test_participation_cap_fills_across_bars(tmp_path, clock) -> None:  # noqa: ANN001
    svc, db = make(tmp_path, clock, paper_trading__fills__volume_participation="0.1")
    seed_bars(db, "AAPL", OPEN, [(10, 10, 10, 10, 400)] * 5)
    clock.t = OPEN + M
    o = svc.submit_order(req(qty=100))
    clock.t = OPEN + 3 * M
    svc.process_until()
    got = svc.get_order(o.id)
    assert got.status == "partially_filled" and got.filled_qty == D(80)
    clock.t = OPEN + 5 * M
    svc.process_until()
    assert svc.get_order(o.id).status == "filled"
    assert [f["qty"] for f in svc.fills()] == [D(20), D(40), D(40)]


def test_cash_account_cannot_go_negative_or_short(tmp_path, clock) -> None:  # noqa: ANN001
    svc, db = make(tmp_path, clock, paper_trading__account_type="cash",
                   paper_trading__starting_cash="1000")
    seed_bars(db, "AAPL", OPEN, [(100, 100, 100, 100), (150, 150, 150, 150)])
    clock.t = OPEN + M
    with pytest.raises(Forbidden) as info:
        svc.submit_order(req(qty=11))
    assert info.value.code == "risk_buying_power"
    with pytest.raises(Forbidden, match="insufficient qty"):
        svc.submit_order(req(side="sell", qty=1))
    o = svc.submit_order(req(qty=9))  # 900 at 100, but the next open is 150
    clock.t = OPEN + 2 * M
    svc.process_until()
    got = svc.get_order(o.id)
    assert got.status == "canceled" and got.reason == "insufficient_cash_at_fill"
    assert svc.account_snapshot().figures.cash == D(1000)


def test_fourth_day_trade_under_25k_is_rejected(tmp_path, clock) -> None:  # noqa: ANN001
    svc, db = make(tmp_path, clock, paper_trading__starting_cash="20000")
    seed_bars(db, "AAPL", OPEN, flat(10, 30))
    for i in range(3):
        clock.t = OPEN + (1 + 4 * i) * M
        svc.submit_order(req())
        clock.advance(2)
        svc.process_until()
        svc.submit_order(req(side="sell"))
        clock.advance(2)
        svc.process_until()
    assert svc.account_snapshot().daytrade_count == 3
    svc.submit_order(req())
    clock.advance(2)
    svc.process_until()
    with pytest.raises(Forbidden) as info:
        svc.submit_order(req(side="sell"))
    assert info.value.code == "risk_pattern_day_trader"


def test_daily_loss_halts_entries_and_flattens(tmp_path, clock) -> None:  # noqa: ANN001
    svc, db = make(tmp_path, clock, paper_trading__risk__daily_loss_limit_usd="100",
                   paper_trading__risk__flatten_on_daily_loss="true")
    seed_bars(db, "AAPL", OPEN, [(100, 100, 100, 100)] * 3 + [(80, 80, 80, 80)] * 5)
    clock.t = OPEN + M
    svc.process_until()  # records the session's starting equity
    svc.submit_order(req())
    clock.t = OPEN + 5 * M
    svc.process_until()  # bought at 100, now 80: -200 -> halt and flatten order
    assert svc.risk_state()["halted"]
    with pytest.raises(Forbidden) as info:
        svc.submit_order(req())
    assert info.value.code == "risk_halted"
    clock.t = OPEN + 7 * M
    svc.process_until()
    assert svc.account_snapshot().positions == []
    assert svc.invariants()["ok"]


def test_flatten_before_close_and_no_late_entries(tmp_path, clock) -> None:  # noqa: ANN001
    svc, db = make(tmp_path, clock, paper_trading__risk__flatten_minutes_before_close=5,
                   paper_trading__risk__no_entry_minutes_before_close=10)
    late = CLOSE - timedelta(minutes=20)
    seed_bars(db, "AAPL", late, flat(10, 20))
    clock.t = late + M
    svc.submit_order(req())
    clock.t = CLOSE - timedelta(minutes=9)
    svc.process_until()
    with pytest.raises(Forbidden, match="last 10 minutes"):
        svc.submit_order(req())
    clock.t = CLOSE - timedelta(minutes=4)
    svc.process_until()  # flatten order placed
    clock.t = CLOSE
    svc.process_until()
    assert svc.account_snapshot().positions == []


def test_replace_and_cancel(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + M
    o = svc.submit_order(req(type="limit", limit_price=90))
    new = svc.replace_order(o.id, ReplaceRequest(qty=D(3), limit_price=D(101)))
    assert svc.get_order(o.id).status == "replaced" and new.replaces == o.id
    clock.t = OPEN + 3 * M
    svc.process_until()
    assert svc.get_order(new.id).status == "filled" and svc.get_order(new.id).filled_qty == 3
    with pytest.raises(UnprocessableError):
        svc.cancel_order(new.id)
    p = svc.submit_order(req(type="limit", limit_price=1))
    assert svc.cancel_order(p.id).status == "canceled"
    statuses = [e["status"] for e in svc.order_events(p.id)]
    assert statuses == ["new", "canceled"]


def test_trailing_stop_water_mark_persists_between_sweeps(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, [(100, 100, 100, 100), (100, 105, 100, 105),
                                 (105, 110, 105, 110), (109, 109, 104, 105)])
    clock.t = OPEN + M
    svc.submit_order(req())
    t = svc.submit_order(req(side="sell", type="trailing_stop", trail_price=5,
                             time_in_force="gtc"))
    for k in (2, 3, 4, 5):
        clock.t = OPEN + k * M
        svc.process_until()
    got = svc.get_order(t.id)
    # hwm 110 after 14:32, stop 105; 14:33 low 104 triggers at 105 (open 109 is above)
    assert got.status == "filled" and got.filled_avg_price == D(105) and got.hwm == D(110)


def test_reset_restores_cash_and_keeps_the_ledger_invariant(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + M
    svc.submit_order(req())
    clock.t = OPEN + 3 * M
    svc.process_until()
    snap = svc.reset(D(5000))
    assert snap.figures.cash == D(5000) and snap.positions == []
    assert svc.invariants()["ok"]
    assert [r["kind"] for r in svc.ledger()][0] == "reset"


def test_reset_starts_afresh_on_a_clock_moved_back(svc, db, clock) -> None:  # noqa: ANN001
    # a replay moved back over a session already traded: its fills must come from its bars
    seed_bars(db, "AAPL", OPEN, BARS)
    clock.t = OPEN + 3 * M
    svc.submit_order(req())
    clock.t = OPEN + 6 * M
    svc.process_until()  # the session's risk row and the watermark now stand at +5 minutes
    clock.t = OPEN
    svc.reset(D(100000))
    for table in ("pt_sessions", "pt_day_trades", "pt_watermarks"):
        assert db.fetch_one(f"SELECT COUNT(*) FROM {table}")[0] == 0  # noqa: S608
    clock.t = OPEN + M
    order = svc.submit_order(req())
    clock.t = OPEN + 3 * M
    svc.process_until()
    assert svc.get_order(order.id).status == "filled"


def test_unknown_symbol_without_data_is_unprocessable(svc, clock) -> None:  # noqa: ANN001
    with pytest.raises(UnprocessableError):
        svc.submit_order(req(symbol="ZZZZ"))
