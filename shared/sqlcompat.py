"""The few SQL fragments that differ between SQLite and PostgreSQL, chosen per connection.

Statements elsewhere are written in the subset both engines accept (``ON CONFLICT``,
``RETURNING``, ``COALESCE``, ``CASE``); what is left is a planner hint only SQLite knows and
catalogue look-ups.  ``target`` is a connection or a ``Database``: one with a ``dialect``
attribute says which engine it speaks, a ``sqlite3.Connection`` speaks SQLite.
"""
from __future__ import annotations

import sqlite3
from typing import Any


def dialect(target: Any) -> str:
    """Return ``"sqlite"`` or ``"postgresql"``: the engine ``target`` speaks."""
    named = getattr(target, "dialect", None)
    if isinstance(named, str):
        return "postgresql" if named.lower().startswith("postgres") else named.lower()
    name = getattr(named, "name", None)  # a dialect object with a name
    if isinstance(name, str):
        return "postgresql" if name.lower().startswith("postgres") else name.lower()
    if isinstance(target, sqlite3.Connection):
        return "sqlite"
    inner = getattr(target, "db", None)  # a service or repository holding a Database
    if inner is not None and inner is not target:
        return dialect(inner)
    getter = getattr(target, "get_db_connection", None)
    if callable(getter):
        return dialect(getter())
    return "postgresql" if "psycopg" in type(target).__module__ else "sqlite"


def is_sqlite(target: Any) -> bool:
    """Return whether ``target`` speaks SQLite."""
    return dialect(target) == "sqlite"


def indexed_by(target: Any, index: str) -> str:
    """Return SQLite's ``INDEXED BY index`` hint (PostgreSQL has none: its planner has
    statistics), with a trailing space, or an empty string."""
    return f"INDEXED BY {index} " if is_sqlite(target) else ""


def table_exists_sql(target: Any) -> str:
    """Return a query taking one parameter, a table or view name, that yields a row when it
    exists in the database ``target`` reaches."""
    if is_sqlite(target):
        return "SELECT 1 FROM sqlite_master WHERE type IN ('table', 'view') AND name = ?"
    return ("SELECT 1 FROM information_schema.tables WHERE table_schema = current_schema() "
            "AND table_name = ?")


def table_columns(target: Any, conn: Any, table: str) -> list[str]:
    """Return the column names of ``table`` in their declared order.

    ``table`` must be a trusted name (a constant of the caller), never user text.
    """
    if is_sqlite(target):
        return [r[1] for r in conn.execute(f"PRAGMA table_info({table})")]
    return [r[0] for r in conn.execute(
        "SELECT column_name FROM information_schema.columns WHERE table_schema = "
        "current_schema() AND table_name = ? ORDER BY ordinal_position", (table,))]


def sync_id_sequence(conn: Any, table: str, column: str = "id") -> None:
    """Move ``table``'s id sequence past its largest id after a row was inserted with an
    explicit id (PostgreSQL's sequence does not see it; SQLite takes ``MAX(id) + 1`` itself).

    ``table`` and ``column`` must be trusted names (constants of the caller).
    """
    if is_sqlite(conn):
        return
    conn.execute(
        f"SELECT setval(pg_get_serial_sequence(?, ?), (SELECT COALESCE(MAX({column}), 0) "  # noqa: S608
        f"FROM {table}) + 1, false)", (table, column))


def json_object_sql(target: Any, columns: list[str]) -> str:
    """Return an expression building a JSON object text of ``columns`` (key: the column name),
    in the given order.  The names must be trusted (constants of the caller)."""
    pairs = ", ".join(f"'{c}', {c}" for c in columns)
    if is_sqlite(target):
        return f"json_object({pairs})"
    return f"json_build_object({pairs})::text"


def epoch_seconds_sql(target: Any, expr: str) -> str:
    """Return an expression for the whole epoch seconds of the ISO-8601 text ``expr`` (SQLite's
    ``unixepoch``: fractions dropped).  ``expr`` must be trusted SQL (a column)."""
    if is_sqlite(target):
        return f"unixepoch({expr})"
    return f"CAST(floor(EXTRACT(EPOCH FROM CAST({expr} AS timestamptz))) AS BIGINT)"
