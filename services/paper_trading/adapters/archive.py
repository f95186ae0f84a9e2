"""SQL of market runs over the ``pt_*`` tables: the run check every write makes, the move of
a closing run's rows into ``pt_archive`` and the archive's reads (docs/ARCHITECTURE.md,
"Market runs").  Every function takes the connection of an open unit of work."""
from __future__ import annotations

import json
import sqlite3
from typing import Any

from shared.domain.money import from_micros
from shared.sqlcompat import json_object_sql, sync_id_sequence, table_columns

# (kind, table, the row's account): the tables whose rows belong to one market run, in an
# order where a row's parent is still there when it is archived (events before orders)
RUN_TABLES: tuple[tuple[str, str, str], ...] = (
    ("event", "trade_events", "account"),
    ("order_event", "pt_order_events",
     "COALESCE((SELECT o.account FROM pt_orders o WHERE o.id = order_id), 1)"),
    ("order", "pt_orders", "account"),
    ("fill", "pt_fills", "account"),
    ("ledger", "pt_ledger", "account"),
    ("position", "pt_positions", "account"),
    ("session", "pt_sessions", "account"),
    ("day_trade", "pt_day_trades", "account"),
)
KINDS = ("account",) + tuple(k for k, _, _ in RUN_TABLES)


def runs(conn: sqlite3.Connection) -> tuple[int, int]:
    """Return (paper trading's market run, the clock's market run)."""
    row = conn.execute("SELECT (SELECT run FROM pt_market_run WHERE id = 1), "
                       "(SELECT run FROM market_clock WHERE id = 1)").fetchone()
    return int(row[0] or 1), int(row[1] or 1)


def fence(conn: sqlite3.Connection) -> dict[str, int]:
    """Return the newest fill and ledger ids: a report frozen at this fence saw every row."""
    row = conn.execute("SELECT (SELECT COALESCE(MAX(id), 0) FROM pt_fills), "
                       "(SELECT COALESCE(MAX(id), 0) FROM pt_ledger)").fetchone()
    return {"fills": int(row[0]), "ledger": int(row[1])}


def _json_object(conn: sqlite3.Connection, table: str) -> str:
    # constant names; an account's secret hash stays out of the archive
    cols = [c for c in table_columns(conn, conn, table) if c != "secret_hash"]
    return json_object_sql(conn, cols)


def archive_run(conn: sqlite3.Connection, run: int, at: str,
                starts_at: str | None = None) -> dict[str, int]:
    """Move every row of market run ``run`` into ``pt_archive`` and start the next run:
    each account's cash back to its starting cash, its epoch moved on, the book's reserve
    zero, the sweep's watermarks forgotten.  Returns the rows archived per kind.

    Each account's event feed then starts the new run with a ``market_run`` event dated
    ``starts_at`` (the new run's first market time; ``at`` when not given), numbered after
    the archived events: an SSE client resuming with Last-Event-ID misses nothing.
    """
    counts: dict[str, int] = {}
    last_event = conn.execute("SELECT COALESCE(MAX(id), 0) FROM trade_events").fetchone()[0]
    acct_obj = _json_object(conn, "pt_accounts")
    counts["account"] = conn.execute(
        f"INSERT INTO pt_archive (run, account, kind, body) "  # noqa: S608 - constant names
        f"SELECT ?, id, 'account', {acct_obj} FROM pt_accounts", (run,)).rowcount
    for kind, table, account in RUN_TABLES:
        obj = _json_object(conn, table)
        counts[kind] = conn.execute(
            f"INSERT INTO pt_archive (run, account, kind, body) "  # noqa: S608 - constant names
            f"SELECT ?, {account}, ?, {obj} FROM {table}", (run, kind)).rowcount
        conn.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
    conn.execute("DELETE FROM pt_watermarks")
    conn.execute("UPDATE pt_book SET version = version + 1, reserved_micros = 0")
    conn.execute("UPDATE pt_accounts SET cash_micros = start_cash_micros, epoch = epoch + 1, "
                 "reset_at = ?", (at,))
    conn.execute("UPDATE pt_market_run SET run = ?, started_at = ? WHERE id = 1", (run + 1, at))
    accounts = conn.execute("SELECT id, start_cash_micros FROM pt_accounts ORDER BY id")
    conn.executemany(
        "INSERT INTO trade_events (id, account, type, payload, created_at) "
        "VALUES (?, ?, 'market_run', ?, ?)",
        [(last_event + i, acct, json.dumps({"run": run + 1,
                                            "starting_cash": str(from_micros(cash))}),
          starts_at or at) for i, (acct, cash) in enumerate(accounts.fetchall(), start=1)])
    sync_id_sequence(conn, "trade_events")
    return counts


def archived_runs(conn: sqlite3.Connection) -> list[dict[str, Any]]:
    """Return each archived run with its rows per kind and the accounts in it."""
    out: dict[int, dict[str, Any]] = {}
    for run, kind, account, n in conn.execute(
            "SELECT run, kind, account, COUNT(*) FROM pt_archive "
            "GROUP BY run, kind, account ORDER BY run DESC, kind, account"):
        r = out.setdefault(int(run), {"run": int(run), "rows": {}, "accounts": set()})
        r["rows"][kind] = r["rows"].get(kind, 0) + int(n)
        r["accounts"].add(int(account))
    return [{**r, "accounts": sorted(r["accounts"])} for r in out.values()]


def is_archived(conn: sqlite3.Connection, run: int) -> bool:
    return conn.execute("SELECT 1 FROM pt_archive WHERE run = ? LIMIT 1", (run,)).fetchone() \
        is not None


def archived_rows(conn: sqlite3.Connection, run: int, kind: str, account: int,
                  limit: int, offset: int) -> list[dict[str, Any]]:
    """Return ``account``'s archived ``kind`` rows of market run ``run`` as they were (money
    as Decimal under the name without ``_micros``), in their original order."""
    rows = conn.execute("SELECT body FROM pt_archive WHERE run = ? AND kind = ? AND account = ? "
                        "ORDER BY id LIMIT ? OFFSET ?", (run, kind, account, limit, offset))
    return [_money(json.loads(r[0])) for r in rows]


def _money(row: dict[str, Any]) -> dict[str, Any]:
    return {(k[:-len("_micros")] if k.endswith("_micros") else k):
            (from_micros(v) if k.endswith("_micros") and v is not None else v)
            for k, v in row.items()}


__all__ = ["KINDS", "RUN_TABLES", "archive_run", "archived_rows", "archived_runs", "fence", "is_archived",
           "runs"]
