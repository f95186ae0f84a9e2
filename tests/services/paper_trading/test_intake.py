"""Order intake: what runs under the write lock, idempotency, the book counter, the screen load."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal as D

import pandas as pd
import pytest

from services.paper_trading.adapters.repository import Repository
from services.paper_trading.service_layer.engine import epoch_s, load_books
from shared.errors import UnprocessableError
from shared.market.calendar import get_calendar
from shared.trading.schemas import OrderRequest, ReplaceRequest
from shared.trading.sessions import SessionClock
from tests.services.paper_trading.helpers import OPEN, flat, seed_bars

M = timedelta(minutes=1)


def req(**kw) -> OrderRequest:  # noqa: ANN003
    kw.setdefault("symbol", "AAPL")
    kw.setdefault("side", "buy")
    kw.setdefault("qty", 1)
    return OrderRequest(**kw)


def traced(db, fn):  # noqa: ANN001, ANN201
    """Return (result, SQL statements run on this thread's connection by ``fn``)."""
    stmts: list[str] = []
    conn = db.get_db_connection()
    conn.set_trace_callback(stmts.append)
    try:
        return fn(), stmts
    finally:
        conn.set_trace_callback(None)


def under_lock(stmts: list[str]) -> list[str]:
    i = stmts.index("BEGIN IMMEDIATE")
    return stmts[i + 1: stmts.index("COMMIT", i)]


def test_submission_is_one_transaction_with_three_reads(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    svc.submit_order(req())  # first use creates the account
    rec, stmts = traced(db, lambda: svc.submit_order(req(type="limit", limit_price=99)))
    assert stmts[0] == "BEGIN IMMEDIATE" and stmts[-1] == "COMMIT"  # nothing outside it
    locked = under_lock(stmts)
    reads = [s for s in locked if s.startswith("SELECT")]
    # the client_order_id and the last close in one row, then the account/book/session row,
    # then the priced positions
    assert len(reads) == 3
    assert "client_order_id" in reads[0] and "FROM bars" in reads[0]
    assert not any("SELECT *" in s for s in locked)
    assert any(s.startswith("INSERT INTO pt_orders") and "ON CONFLICT" in s for s in locked)
    assert not any(s.startswith(("UPDATE pt_orders", "SELECT COALESCE(SUM")) for s in locked)
    assert not any("pt_order_events" in s for s in locked)  # the row is its creation event
    assert rec.reserve == D(99)


def test_known_client_order_id_reads_one_row_and_writes_nothing(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    first = svc.submit_order(req(client_order_id="c-1"))
    again, stmts = traced(db, lambda: svc.submit_order(req(client_order_id="c-1")))
    assert again.id == first.id and again.qty == D(1)
    assert [s for s in stmts if s not in ("BEGIN IMMEDIATE", "ROLLBACK")] == [
        s for s in stmts if s.startswith("SELECT")]
    assert len([s for s in stmts if s.startswith("SELECT")]) == 1
    assert "COMMIT" not in stmts


def test_a_different_order_under_a_used_client_order_id_is_refused(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    svc.submit_order(req(client_order_id="c-1"))
    for other in (req(client_order_id="c-1", qty=7), req(client_order_id="c-1", side="sell"),
                  req(client_order_id="c-1", symbol="MSFT")):
        with pytest.raises(UnprocessableError, match="client_order_id must be unique"):
            svc.submit_order(other)
    assert len(svc.list_orders(status="all")) == 1


def test_creation_events_come_from_the_order_rows(svc, db, clock) -> None:  # noqa: ANN001
    """A submission's creation events (parent and legs) read back in order, with later ones."""
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    p = svc.submit_order(req(qty=2, type="limit", limit_price=90, order_class="bracket",
                             take_profit={"limit_price": 120}, stop_loss={"stop_price": 70}))
    svc.cancel_order(p.id)
    assert db.fetch_one("SELECT COUNT(*) FROM pt_order_events WHERE reason = 'submitted'")[0] == 0
    events = svc.order_events(p.id)
    assert [(e["status"], e["reason"]) for e in events][:1] == [("new", "submitted")]
    assert events[0]["at"] == (OPEN + 2 * M).isoformat(timespec="microseconds")
    assert events[-1]["status"] == "canceled" and len(events) == 2
    for leg in p.legs:
        assert [(e["status"], e["reason"]) for e in svc.order_events(leg.id)][0] == (
            "held", "submitted")


def test_losing_the_race_to_a_retry_writes_nothing(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    prepared = svc.intake.prepare(req(client_order_id="dup", qty=3), clock.t)
    stored = svc.submit_order(req(client_order_id="dup", qty=3))  # the other worker's copy
    events_before = db.fetch_one("SELECT COUNT(*) FROM trade_events")[0]
    with svc.unit_of_work() as uow:
        assert svc.intake.submit_locked(uow.conn, prepared) is None
        uow.commit()
    assert db.fetch_one("SELECT COUNT(*) FROM pt_orders")[0] == 1
    assert db.fetch_one("SELECT COUNT(*) FROM trade_events")[0] == events_before
    assert svc.get_order_by_client_id("dup").id == stored.id


def test_reserved_counter_follows_every_order_write(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, [(100, 100, 100, 100)] * 3 + [(95, 96, 94, 95)] * 5)
    clock.t = OPEN + M
    a = svc.submit_order(req(qty=10, type="limit", limit_price=95, time_in_force="gtc"))
    b = svc.submit_order(req(qty=2, type="limit", limit_price=90))
    c = svc.submit_order(req(qty=5, type="limit", limit_price=80, order_class="bracket",
                             take_profit={"limit_price": 120}, stop_loss={"stop_price": 70}))
    repo = Repository(db.get_db_connection())
    assert repo.reserved() == D(950 + 180 + 400) == repo.reserved_recount()
    svc.cancel_order(b.id)
    svc.replace_order(c.id, ReplaceRequest(qty=D(1), limit_price=D(85)))
    assert repo.reserved() == D(950 + 85) == repo.reserved_recount()
    clock.t = OPEN + 6 * M
    svc.process_until()  # 14:33 low 94 fills the 95 limit
    assert svc.get_order(a.id).status == "filled"
    assert repo.reserved() == repo.reserved_recount() == D(85)
    svc.reset()
    assert repo.reserved() == 0 and svc.invariants()["checks"][
        "reserved_equals_sum_of_working_orders"]


def test_submission_over_http_does_not_run_the_sweep(client, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + M
    oid = client.post("/v2/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1,
                                          "type": "market", "time_in_force": "day"}).json["id"]
    clock.t = OPEN + 4 * M  # three bars have closed since: the order could fill
    r = client.post("/v2/orders", json={"symbol": "AAPL", "side": "buy", "qty": 1,
                                        "type": "limit", "limit_price": 1})
    assert r.status_code == 200
    status = lambda: db.fetch_one("SELECT status FROM pt_orders WHERE id = ?", (oid,))[0]  # noqa: E731
    assert status() == "new"  # the submission did not sweep
    assert client.get(f"/v2/orders/{oid}").json["status"] == "filled"  # a read does


@pytest.mark.parametrize("t", [
    "2024-01-02T14:30:00", "2024-01-02T14:29:59.999999", "2024-01-02T20:59:59",
    "2024-01-02T21:00:00", "2024-01-06T12:00:00", "2024-07-03T16:59:00", "2024-07-03T17:00:00",
    "2024-07-04T15:00:00", "2024-12-24T18:00:00", "2024-01-08T14:30:01"])
def test_session_clock_agrees_with_the_calendar(t: str) -> None:
    cal = get_calendar("XNYS")
    sc = SessionClock(cal)
    now = datetime.fromisoformat(t).replace(tzinfo=UTC)
    for probe in (now, now):  # the second answer comes from the cached period
        p = sc.period(probe)
        session = cal.session_of(probe)
        assert p.session == (None if session is None else session.date().isoformat())
        assert p.next_close == cal.next_close(probe).to_pydatetime()
        assert p.previous_close == cal.previous_close(probe).to_pydatetime()
        if session is not None:
            assert p.close == cal.session_bounds(session)[1].to_pydatetime()
        labels = [s.date().isoformat() for s in cal.sessions_in_range(
            pd.Timestamp(probe) - pd.Timedelta(days=20), probe)]
        assert p.five_start == labels[-5]


def test_screen_load_matches_the_records(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 5))
    seed_bars(db, "MSFT", OPEN, flat(50, 5))
    clock.t = OPEN + M + timedelta(seconds=30, microseconds=5)
    recs = [svc.submit_order(req(type="stop_limit", stop_price=101, limit_price=102)),
            svc.submit_order(req(symbol="MSFT", side="sell", type="limit", limit_price=60,
                                 time_in_force="gtc")),
            svc.submit_order(req(type="trailing_stop", trail_percent=1, side="sell",
                                 time_in_force="ioc"))]
    with db.transaction() as conn:
        books = load_books(conn)
    assert sorted(books) == ["AAPL", "MSFT"]
    for rec in recs:
        a = books[rec.symbol].a
        i = books[rec.symbol].index[svc.get_order(rec.id).seq]
        assert bool(a["buy"][i]) == (rec.side == "buy")
        assert a["limit"][i] == (int(rec.limit_price * 10**6) if rec.limit_price else 0)
        assert a["active_from"][i] == epoch_s(clock.t, ceil=True)  # rounded up to the second
        assert a["expires"][i] == (epoch_s(rec.expires_at, ceil=True) if rec.expires_at
                                   else 2**63 - 1)
    assert books["AAPL"].a["type"].tolist() == [3, 4]
    assert books["AAPL"].a["always"].tolist() == [False, True]


def test_a_market_order_is_valued_at_the_close_its_lookup_read(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    svc.submit_order(req())  # first use creates the account
    rec, stmts = traced(db, lambda: svc.submit_order(req(client_order_id="new-1")))
    locked = under_lock(stmts)
    assert "client_order_id" in locked[0] and "FROM bars" in locked[0]
    assert not any("FROM bars" in s for s in locked[1:] if "pt_positions" not in s)
    assert rec.reserve == D(100)  # valued at the close that one read returned


def test_a_known_bracket_comes_back_with_its_legs(svc, db, clock) -> None:  # noqa: ANN001
    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    body = {"order_class": "bracket", "take_profit": {"limit_price": 110},
            "stop_loss": {"stop_price": 90}, "client_order_id": "b-1"}
    first = svc.submit_order(req(**body))
    again = svc.submit_order(req(**body))
    assert again.id == first.id and len(first.legs) == 2
    assert sorted(x.id for x in again.legs) == sorted(x.id for x in first.legs)
    assert db.fetch_one("SELECT COUNT(*) FROM pt_orders")[0] == 3


def test_order_ids_are_time_ordered_uuid7(svc, db, clock) -> None:  # noqa: ANN001
    import time
    import uuid

    seed_bars(db, "AAPL", OPEN, flat(100, 10))
    clock.t = OPEN + 2 * M
    ids = []
    for _ in range(3):
        rec = svc.submit_order(req(order_class="bracket", take_profit={"limit_price": 110},
                                   stop_loss={"stop_price": 90}))
        ids.append(rec.id)
        assert all(uuid.UUID(x.id).version == 7 for x in (rec, *rec.legs))
        assert uuid.UUID(rec.client_order_id).version == 7  # generated when none is given
        time.sleep(0.002)  # next millisecond: the 48-bit time prefix orders them
    assert ids == sorted(ids)
