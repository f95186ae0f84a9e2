"""SQL of the reporting service.

Reporting writes only ``report_snapshots``.  It reads paper trading's tables (``pt_accounts``,
``pt_positions``, ``pt_fills``, ``pt_ledger``) read-only, one account at a time, and coordination's decision ledger
when that table exists.
"""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from shared.analytics import Decision, Fill
from shared.db import Database
from shared.db.bounds import db_int
from shared.domain.money import from_micros, to_micros
from shared.sqlcompat import table_exists_sql

# Coordination's decision ledger (its migration 0009) is read through this name with the
# columns (order_id, decision_id, strategy, pattern); until it exists trips have no decision.
DECISION_TABLE = "decision_ledger"


def iso(dt: datetime) -> str:
    """Return ``dt`` as ISO-8601 UTC text, the format every table stores."""
    return dt.astimezone(UTC).isoformat()


def parse_ts(text: str) -> datetime:
    """Return the aware UTC datetime of a stored ISO timestamp (naive text is UTC)."""
    dt = datetime.fromisoformat(text)
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


@dataclass(frozen=True)
class Snapshot:
    """One step of the equity curve."""

    epoch: int
    ts: datetime
    equity: Decimal
    cash: Decimal
    long_value: Decimal
    short_value: Decimal
    unrealized_pnl: Decimal
    open_positions: int
    run_id: str | None = None
    source: str = "api"

    @classmethod
    def from_row(cls, row: sqlite3.Row) -> Snapshot:
        return cls(int(row["epoch"]), parse_ts(row["ts"]), from_micros(row["equity_micros"]),
                   from_micros(row["cash_micros"]), from_micros(row["long_value_micros"]),
                   from_micros(row["short_value_micros"]),
                   from_micros(row["unrealized_pnl_micros"]), int(row["open_positions"]),
                   row["run_id"], row["source"])


class ReportRepository:
    """Reads and writes of the reporting service over one ``Database``, for one paper account
    (1, the automation's, unless given)."""

    def __init__(self, db: Database, account: int = 1) -> None:
        self.db = db
        self.account_id = account

    def account_ref(self, ref: str) -> int | None:
        """Return the id of the paper account with id or name ``ref`` (None when unknown)."""
        row = self.db.fetch_one("SELECT id FROM pt_accounts WHERE id = ? OR name = ? "
                                "ORDER BY id = ? DESC LIMIT 1",
                                (-1 if db_int(ref) is None else db_int(ref), ref,
                                 -1 if db_int(ref) is None else db_int(ref)))
        return None if row is None else int(row[0])

    def active_accounts(self) -> list[int]:
        """Return the automation's account and every account with a fill or a position."""
        rows = self.db.fetch_all("SELECT 1 UNION SELECT account FROM pt_positions "
                                 "WHERE qty_micros != 0 UNION SELECT DISTINCT account FROM pt_fills")
        return sorted(int(r[0]) for r in rows)

    # -- report_snapshots (owned) -----------------------------------------------------
    def save_snapshot(self, conn: sqlite3.Connection, snap: Snapshot, created_at: datetime) -> None:
        """Insert the snapshot, replacing the one of the same epoch and clock step."""
        conn.execute(
            "INSERT INTO report_snapshots (account, epoch, ts, equity_micros, cash_micros, "
            "long_value_micros, short_value_micros, unrealized_pnl_micros, open_positions, "
            "run_id, source, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (account, epoch, ts) DO UPDATE SET equity_micros = excluded.equity_micros, "
            "cash_micros = excluded.cash_micros, long_value_micros = excluded.long_value_micros, "
            "short_value_micros = excluded.short_value_micros, "
            "unrealized_pnl_micros = excluded.unrealized_pnl_micros, "
            "open_positions = excluded.open_positions, run_id = excluded.run_id, "
            "source = excluded.source, created_at = excluded.created_at",
            (self.account_id, snap.epoch, iso(snap.ts), to_micros(snap.equity), to_micros(snap.cash),
             to_micros(snap.long_value), to_micros(snap.short_value),
             to_micros(snap.unrealized_pnl), snap.open_positions, snap.run_id, snap.source,
             iso(created_at)))

    def snapshots(self, epoch: int, start: datetime | None = None,
                  end: datetime | None = None) -> list[Snapshot]:
        """Return the epoch's snapshots with ``start <= ts <= end``, oldest first."""
        sql = "SELECT * FROM report_snapshots WHERE account = ? AND epoch = ?"
        params: list[Any] = [self.account_id, epoch]
        if start is not None:
            sql += " AND ts >= ?"
            params.append(iso(start))
        if end is not None:
            sql += " AND ts <= ?"
            params.append(iso(end))
        return [Snapshot.from_row(r) for r in self.db.fetch_all(sql + " ORDER BY ts", params)]

    # -- paper trading (read only) ----------------------------------------------------
    def account(self) -> sqlite3.Row | None:
        """Return the paper account row (None before paper trading created it)."""
        return self.db.fetch_one("SELECT * FROM pt_accounts WHERE id = ?", (self.account_id,))

    def positions(self) -> list[tuple[str, Decimal, Decimal]]:
        """Return ``(symbol, signed qty, average entry price)`` of every open position."""
        rows = self.db.fetch_all("SELECT symbol, qty_micros, avg_entry_price_micros "
                                 "FROM pt_positions WHERE account = ? AND qty_micros != 0 "
                                 "ORDER BY symbol", (self.account_id,))
        return [(r[0], from_micros(r[1]), from_micros(r[2])) for r in rows]

    def fills(self, epoch: int, start: datetime | None = None,
              end: datetime | None = None) -> list[Fill]:
        """Return the epoch's fills in booking order, each with the cash its ledger row moved."""
        # One grouped pass over the ledger (it has no index on fill_id) instead of a
        # correlated sub-query per fill.
        sql = ("SELECT f.id, f.order_id, f.symbol, f.side, f.qty_micros, f.price_micros, "
               "f.commission_micros, f.filled_at, l.cash_micros "
               "FROM pt_fills f LEFT JOIN (SELECT fill_id, SUM(amount_micros) AS cash_micros "
               " FROM pt_ledger WHERE kind = 'fill' AND fill_id IS NOT NULL GROUP BY fill_id) l "
               "ON l.fill_id = f.id WHERE f.account = ? AND f.epoch = ?")
        params: list[Any] = [self.account_id, epoch]
        if start is not None:
            sql += " AND f.filled_at >= ?"
            params.append(iso(start))
        if end is not None:
            sql += " AND f.filled_at <= ?"
            params.append(iso(end))
        rows = self.db.fetch_all(sql + " ORDER BY f.filled_at, f.id", params)
        return [Fill(ts=parse_ts(r["filled_at"]), symbol=r["symbol"], side=r["side"],
                     qty=from_micros(r["qty_micros"]), price=from_micros(r["price_micros"]),
                     commission=from_micros(r["commission_micros"]), order_id=r["order_id"],
                     fill_id=str(r["id"]),
                     cash=None if r["cash_micros"] is None else from_micros(r["cash_micros"]))
                for r in rows]

    def ledger_cash_flow(self, epoch: int) -> Decimal:
        """Return the net cash the epoch's fills and commissions moved in paper trading's ledger.

        Equal to the realized P&L once the account is flat; with open positions it also holds
        their cost, so it is a cross-check figure, not P&L.
        """
        row = self.db.fetch_one(
            "SELECT COALESCE(SUM(l.amount_micros), 0) FROM pt_ledger l "
            "JOIN pt_fills f ON f.id = l.fill_id "
            "WHERE f.account = ? AND f.epoch = ? AND l.kind IN ('fill', 'commission')",
            (self.account_id, epoch))
        return from_micros(row[0]) if row else Decimal(0)

    def _has_table(self, name: str) -> bool:
        return self.db.fetch_one(table_exists_sql(self.db), (name,)) is not None

    def decisions(self, order_ids: Iterable[str]) -> dict[str, Decision]:
        """Return ``{order_id: Decision}`` from coordination's ledger (empty until it exists)."""
        ids = sorted({o for o in order_ids if o})
        if not ids or not self._has_table(DECISION_TABLE):
            return {}
        out: dict[str, Decision] = {}
        for i in range(0, len(ids), 500):  # stay under SQLite's bound-parameter limit
            chunk = ids[i:i + 500]
            rows = self.db.fetch_all(
                f"SELECT order_id, decision_id, strategy, pattern FROM {DECISION_TABLE} "  # noqa: S608 - constant name
                f"WHERE order_id IN ({','.join('?' * len(chunk))})", chunk)
            for r in rows:
                out[r["order_id"]] = Decision(str(r["decision_id"]), r["pattern"], r["strategy"])
        return out
