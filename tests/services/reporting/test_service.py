"""The reporting service on a real SQLite file with paper trading's tables booked by its code."""
from __future__ import annotations

import sqlite3
from datetime import datetime, timedelta
from decimal import Decimal

import pandas as pd
import pytest

from services.reporting.service import ReportingService
from shared.domain.money import from_micros
from shared.errors import NotFound, UnprocessableError, ValidationError
from tests.services.reporting.factories import T0, fill
from tests.services.reporting.paper_book import book, open_account

D = Decimal


class Market:
    """A settable clock and price table standing in for the data manager."""

    def __init__(self) -> None:
        self.now = T0
        self.prices: dict[str, Decimal] = {}

    def price(self, symbol: str, as_of: datetime) -> Decimal:
        if symbol not in self.prices:
            raise NotFound(f"no visible price for {symbol} yet", field="symbol")
        return self.prices[symbol]

    def bars(self, symbol: str, tf: str, start: datetime, end: datetime) -> pd.DataFrame:
        idx = pd.date_range(start, end, freq="min", inclusive="left")
        return pd.DataFrame({"open": 100.0, "high": 130.0, "low": 70.0, "close": 100.0,
                             "volume": 1}, index=idx)


@pytest.fixture
def market() -> Market:
    return Market()


@pytest.fixture
def svc(settings, db, market) -> ReportingService:
    return ReportingService(settings, db, clock=lambda: market.now, prices=market.price,
                            bars=market.bars)


# Several symbols, scale-ins, partial closes, flips, sub-cent prices, fractional quantities
# and commissions: every fill's cash is rounded to the cent by paper trading.
MIXED = [
    fill(0, "buy", "10", "100.0051", "1.00", symbol="AAA", order="a1"),
    fill(1, "buy", "7.5", "101.3337", "0.75", symbol="AAA", order="a2"),
    fill(2, "sell", "3", "50.1234", "0.30", symbol="BBB", order="b1"),
    fill(3, "sell", "4.25", "102.9999", "0.43", symbol="AAA", order="a3"),
    fill(5, "sell", "20", "99.4449", "2.00", symbol="AAA", order="a4"),  # flips short 6.75
    fill(6, "buy", "5", "49.8765", "0.50", symbol="BBB", order="b2"),  # flips long 2
    fill(8, "buy", "6.75", "98.0001", "0.68", symbol="AAA", order="a5"),
    fill(9, "sell", "2", "51.0003", "0.20", symbol="BBB", order="b3"),
    fill(12, "buy", "0.333333", "333.3333", "0.01", symbol="CCC", order="c1"),
    fill(13, "sell", "0.333333", "334.4444", "0.01", symbol="CCC", order="c2"),
]


def test_report_pnl_equals_the_ledger_to_the_cent(svc, db, market) -> None:
    open_account(db)
    market.now = T0 - timedelta(minutes=1)
    svc.snapshot()
    pt_realized = book(db, MIXED)
    market.now = T0 + timedelta(minutes=20)
    svc.snapshot()
    s = svc.summary()
    ledger = sum((from_micros(r[0]) for r in db.fetch_all(
        "SELECT amount_micros FROM pt_ledger WHERE kind IN ('fill', 'commission')")), D(0))
    assert s["open_trades"] == 0 and s["trades"] == 5
    assert D(s["realized_pnl"]) == ledger == D(s["ledger_cash_flow"])
    # the equity curve says the same (cash moved by exactly the ledger)
    assert D(s["pnl"]) == ledger
    # paper trading's per-fill realized P&L rounds each fill to the cent against a rounded
    # average price, so its sum may drift from the cash ledger by up to a cent per fill
    fees = sum((f.commission for f in MIXED), D(0))
    assert abs(D(s["realized_pnl"]) - (pt_realized - fees)) <= D("0.01") * len(MIXED)
    assert D(s["fees"]) == fees


def test_snapshot_values_open_positions_and_is_idempotent_per_step(svc, db, market) -> None:
    open_account(db, "1000")
    book(db, [fill(0, "buy", 2, "100", "1", symbol="AAA"),
              fill(1, "sell", 3, "50", "0", symbol="BBB")])
    market.now = T0 + timedelta(minutes=5)
    market.prices = {"AAA": D("110"), "BBB": D("40")}
    snap = svc.snapshot(run_id="run-1", source="coordination")
    # cash = 1000 - 200 - 1 + 150 = 949; long 220; short -120
    assert snap["cash"] == "949" and snap["equity"] == "1049"
    assert snap["long_value"] == "220" and snap["short_value"] == "-120"
    assert snap["unrealized_pnl"] == "50" and snap["open_positions"] == 2
    market.prices["AAA"] = D("111")
    svc.snapshot()
    rows = db.fetch_all("SELECT equity_micros, run_id FROM report_snapshots")
    assert len(rows) == 1 and from_micros(rows[0][0]) == D("1051")


def test_snapshot_without_a_price_values_at_cost_and_says_so(svc, db, market) -> None:
    open_account(db, "1000")
    book(db, [fill(0, "buy", 2, "100", symbol="ZZZ")])
    snap = svc.snapshot()
    assert snap["unpriced"] == ["ZZZ"] and snap["equity"] == "1000"


def test_snapshot_refuses_look_ahead_and_a_missing_account(svc, db, market) -> None:
    with pytest.raises(UnprocessableError):
        svc.snapshot()
    open_account(db)
    with pytest.raises(ValidationError) as err:
        svc.snapshot(ts=market.now + timedelta(minutes=1))
    assert err.value.field == "ts"
    assert db.fetch_one("SELECT COUNT(*) FROM report_snapshots")[0] == 0


def test_snapshot_table_has_one_writer_and_rejects_bad_rows(db) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        with db.transaction() as conn:
            conn.execute("INSERT INTO report_snapshots (epoch, ts, equity_micros, cash_micros, "
                         "open_positions, created_at) VALUES (0, 't', 1, 1, -1, 't')")


def test_epochs_are_reported_apart(svc, db, market) -> None:
    open_account(db)
    book(db, [fill(0, "buy", 1, "10"), fill(1, "sell", 1, "12")])
    svc.snapshot()
    with db.transaction() as conn:
        conn.execute("UPDATE pt_accounts SET epoch = epoch + 1 WHERE id = 1")
    book(db, [fill(2, "buy", 1, "10"), fill(3, "sell", 1, "9")])
    market.now = T0 + timedelta(minutes=5)
    svc.snapshot()
    assert svc.summary()["realized_pnl"] == "-1"
    assert svc.summary(epoch=0)["realized_pnl"] == "2"
    assert len(svc.equity(epoch=0)) == 1 and len(svc.equity()) == 1


def test_trades_page_filters_and_excursions(svc, db, market) -> None:
    open_account(db)
    book(db, MIXED)
    market.now = T0 + timedelta(minutes=30)
    page = svc.trades(limit=2)
    assert page["total"] == 5 and len(page["trades"]) == 2
    assert page["trades"][0]["symbol"] == "CCC"  # newest first
    aaa = svc.trades(symbol="aaa")["trades"]
    assert {t["symbol"] for t in aaa} == {"AAA"} and len(aaa) == 2
    # the fake bars span 70..130 around every trade
    first = aaa[-1]
    assert D(first["mfe"]) > 0 > D(first["mae"])
    assert svc.trades(status="open")["total"] == 0


def test_metrics_and_exports(svc, db, market) -> None:
    open_account(db)
    book(db, MIXED)
    for m in range(0, 20, 2):
        market.now = T0 + timedelta(minutes=m)
        svc.snapshot()
    stats = svc.metrics()
    assert stats["trades"] == 5 and stats["steps"] == 10
    groups = svc.metrics("symbol")["groups"]
    assert set(groups) == {"AAA", "BBB", "CCC"}
    assert sum(D(g["net_pnl"]) for g in groups.values()) == D(stats["net_pnl"])
    with pytest.raises(ValidationError):
        svc.metrics("weekday")
    assert svc.export("csv", "trades").content.count("\n") == 6
    assert svc.export("csv", "equity").content.count("\n") == 11
    assert svc.export("html").content.startswith("<!DOCTYPE html>")
    with pytest.raises(ValidationError):
        svc.export("xml")


def test_decision_ledger_fills_the_decision_columns(svc, db, market) -> None:
    open_account(db)
    book(db, [fill(0, "buy", 1, "10", order="e1"), fill(1, "sell", 1, "11", order="x1"),
              fill(2, "buy", 1, "10", order="e2"), fill(3, "sell", 1, "9", order="x2")])
    assert [t["decision_id"] for t in svc.trades()["trades"]] == [None, None]
    # coordination (0009_coordination.sql) is the one writer of decision_ledger
    sql = ("INSERT INTO decision_ledger (decision_id, client_order_id, order_id, clock_ts, "
           "symbol, action, side, qty_micros, strategy, pattern, risk_verdict, created_at) "
           "VALUES (?, ?, ?, '2024-01-02T15:00:00+00:00', 'AAA', ?, ?, 1000000, ?, ?, "
           "'accepted', '2024-01-02T15:00:00+00:00')")
    with db.transaction() as conn:
        conn.execute(sql, ("d-1", "c-e1", "e1", "enter_long", "buy", "momentum", "bull_flag"))
        conn.execute(sql, ("d-exit", "c-x1", "x1", "exit", "sell", "momentum", None))
    rows = svc.trades()["trades"]
    assert [(t["decision_id"], t["strategy"], t["pattern"]) for t in rows] == [
        (None, None, None), ("d-1", "momentum", "bull_flag")]
    assert set(svc.metrics("pattern")["groups"]) == {"bull_flag", "(none)"}


def test_a_time_range_keeps_trips_whole(svc, db, market) -> None:
    open_account(db)
    book(db, [fill(0, "buy", 2, "10", order="e1"), fill(10, "sell", 2, "12", order="x1"),
              fill(20, "sell", 1, "12", order="e2"), fill(30, "buy", 1, "11", order="x2")])
    market.now = T0 + timedelta(minutes=40)
    later = svc.metrics(start=T0 + timedelta(minutes=5))
    # the long entered at minute 0 is left out, not read as a short opened by its exit
    assert later["trades"] == 1 and later["net_pnl"] == "1" and later["open_trades"] == 0
    as_of = svc.trips(end=T0 + timedelta(minutes=25))
    assert [(t.side, t.is_open) for t in as_of] == [("long", False), ("short", True)]
