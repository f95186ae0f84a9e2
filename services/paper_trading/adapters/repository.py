"""SQL for the paper trading tables (read-only reads of ``bars``, ``symbols`` and ``news``).

A ``Repository`` wraps one connection, normally the one of an open unit of work, so every
statement of a use case lands in the same ``BEGIN IMMEDIATE`` transaction.
"""
from __future__ import annotations

import json
import sqlite3
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

from shared.domain.money import from_micros, to_micros
from shared.errors import NotFound
from shared.sqlcompat import table_exists_sql
from shared.trading import Bar
from shared.trading.records import ORDER_COLUMNS, OrderRecord, bar_iso, iso

_INSERT_ORDER = (f"INSERT INTO pt_orders ({', '.join(ORDER_COLUMNS)}) "  # noqa: S608 - fixed fragments, values bound
                 f"VALUES ({', '.join(':' + c for c in ORDER_COLUMNS)})")
_UPDATE_ORDER = (f"UPDATE pt_orders SET "  # noqa: S608 - fixed fragments, values bound
                 f"{', '.join(f'{c} = :{c}' for c in ORDER_COLUMNS if c != 'id')} WHERE id = :id")
ACTIVE_SQL = "('new', 'accepted', 'partially_filled')"
OPEN_SQL = "('new', 'accepted', 'partially_filled', 'held')"


# Every open position with the close of its last bar visible at the cutoff (bars' primary key).
POSITIONS_SQL = (
    "SELECT p.symbol, p.qty_micros, p.avg_entry_price_micros, p.realized_pl_micros, p.asset_id, "
    "(SELECT close_micros FROM bars WHERE symbol = p.symbol AND timeframe = '1m' AND ts <= ? "
    " ORDER BY ts DESC LIMIT 1), "
    "(SELECT close_micros FROM bars WHERE symbol = p.symbol AND timeframe = '1m' AND ts <= ? "
    " ORDER BY ts DESC LIMIT 1) "
    "FROM pt_positions p WHERE p.account = ? AND p.qty_micros != 0 ORDER BY p.symbol")


def priced_rows(conn: sqlite3.Connection, now: datetime,
                prev_close: datetime | None, account: int = 1) -> list[tuple[Any, ...]]:
    """Return (symbol, qty, avg, realized, asset_id, price, lastday_price) per open position.

    Prices are micros of the last one-minute bar closed by ``now`` (and by ``prev_close``),
    None where no bar is visible.
    """
    cut = bar_iso(now - timedelta(minutes=1))
    prev = bar_iso(prev_close - timedelta(minutes=1)) if prev_close is not None else ""
    return conn.execute(POSITIONS_SQL, (cut, prev, account)).fetchall()


def bar_from_row(row: sqlite3.Row | tuple[Any, ...], duration: timedelta) -> Bar:
    ts, o, h, lo, c, v = row[:6]
    return Bar(datetime.fromisoformat(ts), from_micros(o), from_micros(h), from_micros(lo),
               from_micros(c), int(v), duration)


class Repository:
    """Statements over one connection, for one account (``accounts.AUTOMATION`` unless given).

    Everything an account owns is read and written through ``account``; the fill sweep and
    the book (working orders of every account, watermarks, bars) are the suite's.
    """

    def __init__(self, conn: sqlite3.Connection, account: int = 1) -> None:
        self.conn = conn
        self.account_id = account

    def scoped(self, account: int) -> Repository:
        """Return a repository on the same connection for ``account``."""
        return self if account == self.account_id else Repository(self.conn, account)

    def _one(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        return self.conn.execute(sql, params).fetchone()

    def _all(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return self.conn.execute(sql, params).fetchall()

    # -- account and ledger ---------------------------------------------------------------
    def account(self) -> sqlite3.Row | None:
        return self._one("SELECT * FROM pt_accounts WHERE id = ?", (self.account_id,))

    def account_ids(self) -> list[int]:
        return [r[0] for r in self._all("SELECT id FROM pt_accounts ORDER BY id")]

    def add_ledger(self, kind: str, amount: Decimal, at: datetime, *, order_id: str | None = None,
                   fill_id: int | None = None, note: str | None = None) -> None:
        """Insert a ledger row and move the account's cash by the same amount."""
        m = to_micros(amount)
        a = self.account_id
        self.conn.execute(
            "INSERT INTO pt_ledger (account, kind, amount_micros, order_id, fill_id, at, note) "
            "VALUES (?, ?, ?, ?, ?, ?, ?)", (a, kind, m, order_id, fill_id, iso(at), note))
        self.conn.execute("UPDATE pt_accounts SET cash_micros = cash_micros + ? WHERE id = ?",
                          (m, a))

    def bump_epoch(self, at: datetime, start: Decimal | None = None) -> None:
        self.conn.execute("UPDATE pt_accounts SET epoch = epoch + 1, reset_at = ?, "
                          "start_cash_micros = COALESCE(?, start_cash_micros) WHERE id = ?",
                          (iso(at), None if start is None else to_micros(start), self.account_id))

    def ledger_sum(self) -> Decimal:
        return from_micros(self._one("SELECT COALESCE(SUM(amount_micros), 0) FROM pt_ledger "
                                     "WHERE account = ?", (self.account_id,))[0])

    def ledger(self, limit: int, before_id: int | None) -> list[sqlite3.Row]:
        if before_id is None:
            return self._all("SELECT * FROM pt_ledger WHERE account = ? ORDER BY id DESC LIMIT ?",
                             (self.account_id, limit))
        return self._all("SELECT * FROM pt_ledger WHERE account = ? AND id < ? "
                         "ORDER BY id DESC LIMIT ?", (self.account_id, before_id, limit))

    # -- orders ---------------------------------------------------------------------------
    def insert_order(self, rec: OrderRecord) -> None:
        """Insert one order (``pt_book``'s version and reserve follow by trigger)."""
        self.conn.execute(_INSERT_ORDER, rec.to_params())

    def update_order(self, rec: OrderRecord) -> None:
        self.conn.execute(_UPDATE_ORDER, rec.to_params())

    def book_version(self) -> int:
        """Return the sum of every account's book version: it moves on any order write."""
        return int(self._one("SELECT COALESCE(SUM(version), 0) FROM pt_book")[0])

    def order(self, order_id: str) -> OrderRecord | None:
        """Return this account's order ``order_id`` (None for another account's)."""
        row = self._one("SELECT * FROM pt_orders WHERE id = ? AND account = ?",
                        (order_id, self.account_id))
        return None if row is None else OrderRecord.from_row(row)

    def order_required(self, order_id: str) -> OrderRecord:
        """Return this account's order ``order_id``.

        Raises:
            NotFound: the account has no order with this id.
        """
        rec = self.order(order_id)
        if rec is None:
            raise NotFound(f"order not found for {order_id}", field="order_id")
        return rec

    def order_any(self, order_id: str) -> OrderRecord | None:
        """Return order ``order_id`` of whichever account (the sweep's and lifecycle's)."""
        row = self._one("SELECT * FROM pt_orders WHERE id = ?", (order_id,))
        return None if row is None else OrderRecord.from_row(row)

    def order_by_client_id(self, cid: str) -> OrderRecord | None:
        row = self._one("SELECT * FROM pt_orders WHERE account = ? AND client_order_id = ?",
                        (self.account_id, cid))
        return None if row is None else OrderRecord.from_row(row)

    def children(self, parent_id: str) -> list[OrderRecord]:
        return [OrderRecord.from_row(r) for r in self._all(
            "SELECT * FROM pt_orders WHERE parent_id = ? ORDER BY seq", (parent_id,))]

    def children_of(self, parent_ids: list[str]) -> dict[str, list[OrderRecord]]:
        out: dict[str, list[OrderRecord]] = {}
        for i in range(0, len(parent_ids), 500):
            chunk = parent_ids[i:i + 500]
            marks = ",".join("?" * len(chunk))
            for r in self._all(f"SELECT * FROM pt_orders WHERE parent_id IN ({marks}) "  # noqa: S608 - placeholders only
                               "ORDER BY seq", chunk):
                rec = OrderRecord.from_row(r)
                out.setdefault(rec.parent_id or "", []).append(rec)
        return out

    def list_orders(self, *, status: str, limit: int, after: str | None, until: str | None,
                    direction: str, side: str | None, symbols: list[str] | None,
                    nested: bool = True) -> list[OrderRecord]:
        """Return orders matching the filters: top-level ones (legs nested by the caller) or,
        with ``nested`` False, every order, legs included, each by its own status (Alpaca's
        ``nested=false``)."""
        where = ["account = ?"]
        params: list[Any] = [self.account_id]
        if not nested:
            if status == "open":
                where.append(f"status IN {OPEN_SQL}")
            elif status == "closed":
                where.append(f"status NOT IN {OPEN_SQL}")
            status = "all"
        else:
            where.append("parent_id IS NULL")
        # A bracket/OTO whose entry has filled is still working while a leg is open: it is
        # listed as open (with its legs), so a client closing the position sees the exits it
        # must cancel; it is "closed" only once no leg is open.
        live_legs = ("id IN (SELECT parent_id FROM pt_orders WHERE parent_id IS NOT NULL "  # noqa: S608 - constants only
                     "AND status IN " + OPEN_SQL + ")")
        if status == "open":
            where.append(f"(status IN {OPEN_SQL} OR {live_legs})")
        elif status == "closed":
            where.append(f"status NOT IN {OPEN_SQL} AND NOT {live_legs}")
        if after:
            where.append("submitted_at > ?")
            params.append(after)
        if until:
            where.append("submitted_at < ?")
            params.append(until)
        if side:
            where.append("side = ?")
            params.append(side)
        if symbols:
            where.append(f"symbol IN ({','.join('?' * len(symbols))})")
            params.extend(symbols)
        order = "DESC" if direction == "desc" else "ASC"
        sql = (f"SELECT * FROM pt_orders WHERE {' AND '.join(where)} "  # noqa: S608 - fixed fragments
               f"ORDER BY submitted_at {order}, seq {order} LIMIT ?")
        return [OrderRecord.from_row(r) for r in self._all(sql, [*params, limit])]

    def open_orders(self, symbol: str | None = None) -> list[OrderRecord]:
        """Return this account's open orders (of ``symbol`` when given), oldest first."""
        sql = f"SELECT * FROM pt_orders WHERE status IN {OPEN_SQL} AND account = ?"  # noqa: S608
        rows = (self._all(sql + " AND symbol = ? ORDER BY seq", (self.account_id, symbol))
                if symbol else self._all(sql + " ORDER BY seq", (self.account_id,)))
        return [OrderRecord.from_row(r) for r in rows]

    def active_orders(self) -> list[OrderRecord]:
        return [OrderRecord.from_row(r) for r in self._all(
            f"SELECT * FROM pt_orders WHERE status IN {ACTIVE_SQL} ORDER BY seq")]  # noqa: S608

    def due_orders(self, now_iso: str) -> list[OrderRecord]:
        """Return working orders whose ``expires_at`` is at or before ``now_iso``."""
        return [OrderRecord.from_row(r) for r in self._all(
            f"SELECT * FROM pt_orders WHERE status IN {ACTIVE_SQL} "  # noqa: S608 - constant
            "AND expires_at IS NOT NULL AND expires_at <= ? ORDER BY seq", (now_iso,))]

    def orders_by_seq(self, seqs: list[int]) -> list[OrderRecord]:
        out: list[OrderRecord] = []
        for i in range(0, len(seqs), 500):
            chunk = seqs[i:i + 500]
            out.extend(OrderRecord.from_row(r) for r in self._all(
                f"SELECT * FROM pt_orders WHERE seq IN ({','.join('?' * len(chunk))})",  # noqa: S608
                chunk))
        out.sort(key=lambda r: r.seq or 0)
        return out

    def order_event(self, order_id: str, status: str, reason: str | None, at: datetime) -> None:
        self.conn.execute("INSERT INTO pt_order_events (order_id, status, reason, at) "
                          "VALUES (?, ?, ?, ?)", (order_id, status, reason, iso(at)))

    def order_events(self, order_id: str) -> list[sqlite3.Row]:
        return self._all("SELECT status, reason, at FROM pt_order_history WHERE order_id = ? "
                         "ORDER BY kind, n", (order_id,))

    def reserved(self) -> Decimal:
        """Return the buying power held by working orders (kept in ``pt_book`` by trigger)."""
        row = self._one("SELECT reserved_micros FROM pt_book WHERE id = ?", (self.account_id,))
        return from_micros(0 if row is None else int(row[0]))

    def reserved_recount(self) -> Decimal:
        """Return the same figure summed over the book (the invariant check's reference)."""
        row = self._one("SELECT COALESCE(SUM(reserve_micros), 0) FROM pt_orders "  # noqa: S608 - constant
                        f"WHERE status IN {ACTIVE_SQL} AND account = ?", (self.account_id,))
        return from_micros(int(row[0]))

    # -- positions and fills --------------------------------------------------------------
    def held(self) -> dict[tuple[str, str], Decimal]:
        """Return what working orders hold per (symbol, side) (an OCO's two exits once)."""
        rows = self._all(
            "SELECT symbol, side, SUM(qty_micros - filled_qty_micros) FROM pt_orders "  # noqa: S608 - constant
            f"WHERE account = ? AND status IN {ACTIVE_SQL} AND qty_micros IS NOT NULL "
            "AND NOT (order_class IN ('oco', 'bracket') AND leg = 'stop_loss') GROUP BY symbol, side",
            (self.account_id,))
        return {(r[0], r[1]): from_micros(r[2]) for r in rows}

    def positions(self) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM pt_positions WHERE account = ? AND qty_micros != 0 "
                         "ORDER BY symbol", (self.account_id,))

    def position(self, symbol: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM pt_positions WHERE account = ? AND symbol = ?",
                         (self.account_id, symbol))

    def save_position(self, symbol: str, asset_id: str, qty: Decimal, avg: Decimal,
                      realized: Decimal, at: datetime) -> None:
        if qty == 0:
            self.conn.execute("DELETE FROM pt_positions WHERE account = ? AND symbol = ?",
                              (self.account_id, symbol))
            return
        self.conn.execute(
            "INSERT INTO pt_positions (account, symbol, asset_id, qty_micros, "
            "avg_entry_price_micros, realized_pl_micros, opened_at, updated_at) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, symbol) DO UPDATE SET qty_micros = excluded.qty_micros, "
            "avg_entry_price_micros = excluded.avg_entry_price_micros, "
            "realized_pl_micros = excluded.realized_pl_micros, updated_at = excluded.updated_at",
            (self.account_id, symbol, asset_id, to_micros(qty), to_micros(avg),
             to_micros(realized), iso(at), iso(at)))

    def clear_positions(self) -> None:
        self.conn.execute("DELETE FROM pt_positions WHERE account = ?", (self.account_id,))

    def clear_run_state(self) -> None:
        """Forget the per-session risk state, day trades and fill watermarks (account reset).

        A reset starts a new account, possibly on a replay clock moved back over sessions
        already traded: the old rows would halt it, count its day trades and skip its bars.
        """
        for table in ("pt_sessions", "pt_day_trades"):
            self.conn.execute(f"DELETE FROM {table} WHERE account = ?",  # noqa: S608 - constants
                              (self.account_id,))
        self.conn.execute("DELETE FROM pt_watermarks")

    def insert_fill(self, **f: Any) -> int:
        cur = self.conn.execute(
            "INSERT INTO pt_fills (account, order_id, symbol, side, qty_micros, price_micros, "
            "commission_micros, opening_micros, closing_micros, realized_pl_micros, bar_ts, "
            "filled_at, session, epoch) VALUES (:account, :order_id, :symbol, :side, "
            ":qty_micros, :price_micros, :commission_micros, :opening_micros, :closing_micros, "
            ":realized_pl_micros, :bar_ts, :filled_at, :session, :epoch) RETURNING id",
            {"account": self.account_id, **f})
        return int(cur.fetchone()[0])

    def fills(self, limit: int, symbol: str | None = None,
              order_id: str | None = None) -> list[sqlite3.Row]:
        where, params = ["account = ?"], [self.account_id]
        if symbol:
            where.append("symbol = ?")
            params.append(symbol)
        if order_id:
            where.append("order_id = ?")
            params.append(order_id)
        return self._all(f"SELECT * FROM pt_fills WHERE {' AND '.join(where)} "  # noqa: S608
                         "ORDER BY id DESC LIMIT ?", [*params, limit])

    def fill_qty_sums(self, epoch: int) -> dict[str, Decimal]:
        rows = self._all(
            "SELECT symbol, SUM(CASE side WHEN 'buy' THEN qty_micros ELSE -qty_micros END) "
            "FROM pt_fills WHERE account = ? AND epoch = ? GROUP BY symbol",
            (self.account_id, epoch))
        return {r[0]: from_micros(r[1]) for r in rows}

    def opened_in_session(self, symbol: str, session: str, epoch: int) -> Decimal:
        row = self._one("SELECT COALESCE(SUM(opening_micros), 0) FROM pt_fills "
                        "WHERE symbol = ? AND session = ? AND epoch = ? AND account = ?",
                        (symbol, session, epoch, self.account_id))
        return from_micros(row[0])

    def add_day_trade(self, symbol: str, session: str, order_id: str, at: datetime) -> None:
        self.conn.execute("INSERT INTO pt_day_trades (account, symbol, session, "
                          "order_id, at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING",
                          (self.account_id, symbol, session, order_id, iso(at)))

    def day_trades_since(self, session: str) -> int:
        return int(self._one("SELECT COUNT(*) FROM pt_day_trades WHERE account = ? AND "
                             "session >= ?", (self.account_id, session))[0])

    # -- sessions (risk state) ------------------------------------------------------------
    def session(self, label: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM pt_sessions WHERE account = ? AND session = ?",
                         (self.account_id, label))

    def start_session(self, label: str, equity: Decimal) -> None:
        self.conn.execute("INSERT INTO pt_sessions (account, session, "
                          "start_equity_micros) VALUES (?, ?, ?) ON CONFLICT DO NOTHING",
                          (self.account_id, label, to_micros(equity)))

    def update_session(self, label: str, **cols: Any) -> None:
        sets = ", ".join(f"{k} = ?" for k in cols)
        self.conn.execute(f"UPDATE pt_sessions SET {sets} WHERE account = ? AND session = ?",  # noqa: S608 - our keys
                          (*cols.values(), self.account_id, label))

    # -- market data (read-only) ----------------------------------------------------------
    def watermarks(self) -> dict[str, str]:
        return {r[0]: r[1] for r in self._all("SELECT symbol, processed_through FROM pt_watermarks")}

    def set_watermark(self, symbol: str, ts: str) -> None:
        self.conn.execute(
            "INSERT INTO pt_watermarks (symbol, processed_through) VALUES (?, ?) "
            "ON CONFLICT (symbol) DO UPDATE SET processed_through = excluded.processed_through "
            "WHERE excluded.processed_through > pt_watermarks.processed_through", (symbol, ts))

    def bars_between(self, symbol: str, after: str | None, from_ts: str, until: str,
                     timeframe: str = "1m") -> list[Bar]:
        """Return bars with ``from_ts <= ts <= until`` and ``ts > after``, oldest first."""
        rows = self._all(
            "SELECT ts, open_micros, high_micros, low_micros, close_micros, volume FROM bars "
            "WHERE symbol = ? AND timeframe = ? AND ts >= ? AND ts <= ? AND ts > ? ORDER BY ts",
            (symbol, timeframe, from_ts, until, after or ""))
        return [bar_from_row(r, timedelta(minutes=1)) for r in rows]

    def latest_bar(self, symbol: str, now: datetime) -> Bar | None:
        """Return the last one-minute bar that has closed by ``now``."""
        cutoff = bar_iso(now - timedelta(minutes=1))
        row = self._one(
            "SELECT ts, open_micros, high_micros, low_micros, close_micros, volume FROM bars "
            "WHERE symbol = ? AND timeframe = '1m' AND ts <= ? ORDER BY ts DESC LIMIT 1",
            (symbol, cutoff))
        return None if row is None else bar_from_row(row, timedelta(minutes=1))

    def feed_through(self) -> datetime | None:
        """Return how far the market owner has stored every symbol's bars (None: no feed)."""
        row = self._one("SELECT through_ts FROM market_feed WHERE id = 1")
        if row is None or not row[0]:
            return None
        t = datetime.fromisoformat(row[0])
        return t.replace(tzinfo=UTC) if t.tzinfo is None else t.astimezone(UTC)

    def symbol_info(self, symbol: str) -> sqlite3.Row | None:
        return self._one("SELECT * FROM symbols WHERE symbol = ?", (symbol,))

    def symbols(self) -> list[sqlite3.Row]:
        return self._all("SELECT * FROM symbols ORDER BY symbol")

    def table_exists(self, name: str) -> bool:
        return self._one(table_exists_sql(self.conn), (name,)) is not None

    # -- events ---------------------------------------------------------------------------
    def trade_event(self, type_: str, payload: dict[str, Any], at: datetime,
                    account: int | None = None) -> None:
        self.conn.execute("INSERT INTO trade_events (account, type, payload, created_at) "
                          "VALUES (?, ?, ?, ?)",
                          (self.account_id if account is None else account, type_,
                           json.dumps(payload, default=str), iso(at)))

    def events_after(self, last_id: int, limit: int) -> list[sqlite3.Row]:
        return self._all("SELECT id, type, payload, created_at FROM trade_events WHERE id > ? "
                         "AND account = ? ORDER BY id LIMIT ?", (last_id, self.account_id, limit))
