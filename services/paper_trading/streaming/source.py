"""Where the stream poller reads: its own read-only connection to SQLite or PostgreSQL.

SQLite (the default): a ``mode=ro`` connection to the file; ``PRAGMA data_version`` says in
one step whether anyone committed since the last look.  PostgreSQL (``database.url``): a
connection of its own from the process's pool, and the newest ids and marks the poller follows
in one row stand in for ``data_version`` (they move with every commit the poller would read);
a busy poll reads in one REPEATABLE READ transaction, SQLite's read snapshot.
"""
from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

from shared.db.dialect import DatabaseError as ReadError  # either engine's read failure

# the marks a poll reads by (see reader's module docstring), in one row
_PG_VERSION = (
    "SELECT (SELECT MAX(seq) FROM pt_orders), (SELECT MAX(id) FROM pt_fills), "
    "(SELECT MAX(id) FROM pt_order_events), (SELECT MAX(id) FROM trade_events), "
    "(SELECT MAX(id) FROM news), (SELECT run FROM pt_market_run WHERE id = 1), "
    "(SELECT updated_at FROM market_clock WHERE id = 1), "
    "(SELECT through_ts FROM market_feed WHERE id = 1)")


def is_pg(settings: Any) -> bool:
    """Return whether ``settings`` name a PostgreSQL database."""
    url = settings.database.url
    return url is not None and url.startswith(("postgresql://", "postgres://"))


def connect_ro(path: Path | str) -> sqlite3.Connection:
    """Return a read-only SQLite connection (autocommit; ``BEGIN`` opens a snapshot)."""
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None,
                           check_same_thread=False)
    conn.row_factory = sqlite3.Row
    conn.execute("PRAGMA busy_timeout = 5000")
    return conn


class Source:
    """The poller's connection and the two things it does differently per engine."""

    def __init__(self, db_path: Path | str, settings: Any) -> None:
        self.db_path = db_path
        self.db: Any = None
        if is_pg(settings):
            from shared.db import Database
            from shared.db.postgres import PgConnection

            self.db = Database.from_settings(settings)
            # not the opening thread's connection: the poller's thread uses this one alone
            self.conn: Any = PgConnection(self.db)
        else:
            self.conn = connect_ro(db_path)

    def version(self) -> Any:
        """Return a value that changes whenever a commit the poller reads happened."""
        if self.db is None:
            return self.conn.execute("PRAGMA data_version").fetchone()[0]
        return tuple(self.conn.execute(_PG_VERSION).fetchone())

    def begin(self) -> None:
        """Open the poll's read snapshot."""
        self.conn.execute("BEGIN" if self.db is None
                          else "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")

    def read(self, sql: str, params: Any) -> list[Any]:
        """Run one read on a connection of the caller's thread (not the poller's)."""
        if self.db is not None:
            return self.db.fetch_all(sql, params)
        conn = connect_ro(self.db_path)
        try:
            return conn.execute(sql, params).fetchall()
        finally:
            conn.close()

    def close(self) -> None:
        self.conn.close()
        if self.db is not None:
            self.db.close()


__all__ = ["ReadError", "Source", "connect_ro", "is_pg"]
