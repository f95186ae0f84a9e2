"""The chaos test's audit of paper trading's books catches each kind of broken book."""
from __future__ import annotations

from decimal import Decimal

import pandas as pd
import pytest

from tests.reliability.ledger import audit

NOW = pd.Timestamp("2024-01-02T15:10:00Z")
T = "2024-01-02T15:05:00+00:00"


def _order(conn, oid: str, cid: str, side: str, qty: int, filled: int, status: str) -> None:
    conn.execute(
        "INSERT INTO pt_orders (id, client_order_id, symbol, asset_id, side, type, "
        "time_in_force, order_class, qty_micros, filled_qty_micros, status, active_from, "
        "created_at, updated_at, submitted_at) VALUES (?, ?, 'AAA', 'a', ?, 'market', 'day', "
        "'simple', ?, ?, ?, ?, ?, ?, ?)", (oid, cid, side, qty, filled, status, T, T, T, T))


def _fill(conn, fid: int, oid: str, side: str, qty: int, price: int, bar: str = T) -> None:
    conn.execute(
        "INSERT INTO pt_fills (id, order_id, symbol, side, qty_micros, price_micros, bar_ts, "
        "filled_at, epoch) VALUES (?, ?, 'AAA', ?, ?, ?, ?, ?, 0)",
        (fid, oid, side, qty, price, bar, T))
    amount = qty * price // 1_000_000 * (-1 if side == "buy" else 1)
    conn.execute("INSERT INTO pt_ledger (kind, amount_micros, order_id, fill_id, at) "
                 "VALUES ('fill', ?, ?, ?, ?)", (amount, oid, fid, T))


@pytest.fixture
def books(db):
    """A consistent book: start 1,000; bought 10 @ 20, sold 4 @ 25; last close 30."""
    with db.transaction() as conn:
        conn.execute("INSERT INTO pt_accounts (id, name, key_id, account_id, account_number, "
                     "start_cash_micros, cash_micros, created_at) "
                     "VALUES (1, 'automation', 'automation', 'x', 'x', ?, ?, ?)",
                     (1000_000000, 900_000000, T))
        _order(conn, "o1", "c1", "buy", 10_000000, 10_000000, "filled")
        _order(conn, "o2", "c2", "sell", 4_000000, 4_000000, "filled")
        _order(conn, "o3", "c3", "buy", 1_000000, 0, "new")
        _fill(conn, 1, "o1", "buy", 10_000000, 20_000000)
        _fill(conn, 2, "o2", "sell", 4_000000, 25_000000, "2024-01-02T15:06:00+00:00")
        conn.execute("INSERT INTO pt_positions (symbol, asset_id, qty_micros, "
                     "avg_entry_price_micros, opened_at, updated_at) "
                     "VALUES ('AAA', 'a', 6000000, 20000000, ?, ?)", (T, T))
        conn.execute("INSERT INTO bars VALUES ('AAA', '1m', '2024-01-02T15:09:00+00:00', "
                     "1, 31000000, 1, 30000000, 5, NULL, NULL, 't')")
        conn.execute("INSERT INTO bars VALUES ('AAA', '1m', '2024-01-02T15:10:00+00:00', "
                     "1, 99000000, 1, 99000000, 5, NULL, NULL, 't')")  # not closed at NOW
    return db


ACKED = {"c1": "o1", "c2": "o2", "c3": "o3"}


def test_a_consistent_book_passes_with_prices_from_the_last_closed_bar(books, settings):
    book = audit(settings.database.path, NOW, ACKED)
    assert book.problems == []
    assert book.positions == {"AAA": Decimal(6)} and book.prices == {"AAA": Decimal(30)}
    assert book.cash == Decimal(900) and book.market_value == Decimal(180)
    assert book.min_running_cash == Decimal(800)


@pytest.mark.parametrize(("sql", "expect"), [
    ("UPDATE pt_positions SET qty_micros = 7000000", "signed fills"),
    ("UPDATE pt_accounts SET cash_micros = cash_micros + 1", "ledger"),
    ("UPDATE pt_ledger SET amount_micros = amount_micros - 1 WHERE fill_id = 2", "fill 2"),
    ("UPDATE pt_orders SET filled_qty_micros = 9000000 WHERE id = 'o1'", "order c1"),
    ("INSERT INTO pt_fills (order_id, symbol, side, qty_micros, price_micros, bar_ts, "
     "filled_at, epoch) VALUES ('o3', 'AAA', 'buy', 1000000, 1000000, "
     "'2024-01-02T15:07:00+00:00', 'x', 0)", "order c3"),
    ("UPDATE pt_orders SET client_order_id = 'stranger' WHERE id = 'o3'", "never acknowledged"),
])
def test_each_broken_rule_is_reported(books, settings, sql, expect):
    with books.transaction() as conn:
        conn.execute(sql)
    problems = audit(settings.database.path, NOW, ACKED).problems
    assert any(expect in p for p in problems), problems


def test_an_unacknowledged_fill_and_a_negative_running_balance_are_seen(books, settings):
    book = audit(settings.database.path, NOW, {"c2": "o2", "c3": "o3"})
    assert any("never acknowledged" in p for p in book.problems)
    assert any("fill 1 of an order no client got a 2xx for" in p for p in book.problems)
    with books.transaction() as conn:  # a buy of 1,200 before any sell: the balance dips
        conn.execute("UPDATE pt_ledger SET amount_micros = -1200000000 WHERE fill_id = 1")
    assert audit(settings.database.path, NOW, ACKED).min_running_cash == Decimal(-200)
