"""Row checksums that compare a table across databases and engines (``db copy``, ``db verify``).

A table's checksum is the SHA-256 of its rows read in primary-key order (every column when it
has none), each value normalised so that SQLite and PostgreSQL give the same bytes for the
same data: whole numbers as integers (an INTEGER, a REAL 2.0, a Decimal 2.00), other numbers
(REAL/DOUBLE, Decimal) as their exact decimal string, text as text, bytes (BLOB/BYTEA) as hex,
NULL as NULL; a row of integers, text and NULLs only (most rows) is hashed as read, without a
call per value.  Text sorts bytewise on both (SQLite's
BINARY, PostgreSQL's ``COLLATE "C"``) and NULLs first, so both read the rows in one order.
Rows are streamed (a server-side cursor on PostgreSQL), never held whole in memory.

The functions take a connection of either engine (``sqlite3.Connection`` or
``shared.db.postgres.PgConnection``) and run inside the caller's transaction.
"""
from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from itertools import count
from typing import Any

_TEXT_TYPES = frozenset({"text", "character varying", "character"})
_cursor_ids = count(1)


def is_pg(conn: Any) -> bool:
    """Return True for a PostgreSQL connection (``PgConnection``)."""
    return getattr(conn, "dialect", "sqlite") == "postgresql"


@dataclass(frozen=True)
class Table:
    """What a checksum and a copy need of one table: its columns, in order, and its key."""

    columns: tuple[str, ...]
    text: frozenset[str]  # the text columns (sorted bytewise: COLLATE "C" on PostgreSQL)
    generated: frozenset[str]  # computed by the database: never written
    key: tuple[str, ...]  # the primary key in key order (empty: none)

    def writable(self) -> list[str]:
        return [c for c in self.columns if c not in self.generated]


def describe(conn: Any, tables: list[str] | None = None) -> dict[str, Table]:
    """Return ``{table: Table}`` for ``tables`` (default: every table); few catalog queries
    on PostgreSQL, where each costs tens of milliseconds."""
    out: dict[str, Table] = {}
    if is_pg(conn):
        cols: dict[str, list[Any]] = {}
        for r in conn.execute(
                "SELECT table_name, column_name, data_type, is_generated FROM "
                "information_schema.columns WHERE table_schema = current_schema() "
                "ORDER BY table_name, ordinal_position").fetchall():
            cols.setdefault(r[0], []).append(r)
        keys: dict[str, list[str]] = {}
        for r in conn.execute(
                "SELECT i.indrelid::regclass::text, a.attname FROM pg_index i JOIN pg_attribute a "
                "ON a.attrelid = i.indrelid AND a.attnum = ANY(i.indkey) JOIN pg_class c ON "
                "c.oid = i.indrelid WHERE i.indisprimary AND c.relnamespace = "
                "current_schema()::regnamespace "
                "ORDER BY 1, array_position(i.indkey::int2[], a.attnum)").fetchall():
            keys.setdefault(r[0], []).append(r[1])
        for t, rows in cols.items():
            if tables is None or t in tables:
                out[t] = Table(tuple(r[1] for r in rows),
                               frozenset(r[1] for r in rows if r[2] in _TEXT_TYPES),
                               frozenset(r[1] for r in rows if r[3] != "NEVER"),
                               tuple(keys.get(t, ())))
        return out
    names = tables if tables is not None else [r[0] for r in conn.execute(
        "SELECT name FROM sqlite_master WHERE type = 'table' AND name NOT LIKE 'sqlite_%'")]
    for t in names:
        # table_xinfo's hidden: 0 a column, 2/3 a generated one, 1 a virtual table's own
        rows = [r for r in conn.execute(f'PRAGMA table_xinfo("{t}")').fetchall() if r[6] != 1]
        out[t] = Table(tuple(r[1] for r in rows),
                       frozenset(r[1] for r in rows if "TEXT" in (r[2] or "").upper()),
                       frozenset(r[1] for r in rows if r[6] in (2, 3)),
                       tuple(r[1] for r in sorted((r for r in rows if r[5] > 0),
                                                  key=lambda r: r[5])))
    return out


def stream(conn: Any, sql: str, chunk: int = 5000) -> Iterator[list[Any]]:
    """Yield the rows of ``sql`` (no parameters) ``chunk`` at a time.

    On PostgreSQL through a server-side cursor, which needs the caller's open transaction.
    """
    if is_pg(conn):
        from psycopg.rows import tuple_row

        with conn.raw.cursor(name=f"suite_stream_{next(_cursor_ids)}",
                             row_factory=tuple_row) as cur:
            cur.itersize = chunk
            cur.execute(sql)
            while rows := cur.fetchmany(chunk):
                yield rows
        return
    cur = conn.cursor()
    cur.row_factory = None  # plain tuples: a third of the time sqlite3.Row costs here
    cur.execute(sql)
    while rows := cur.fetchmany(chunk):
        yield rows


def _number(value: Decimal) -> str:
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "0") else text


_PLAIN = frozenset({int, str, type(None)})


def normalise(value: Any) -> Any:
    """Return ``value`` in the form that is equal for equal data on both engines."""
    if value is None or type(value) in _PLAIN:
        return value
    if isinstance(value, int):  # bool and other int subclasses
        return int(value)
    if isinstance(value, str):
        return str(value)
    if isinstance(value, float | Decimal):
        exact = Decimal(repr(value)) if isinstance(value, float) else value
        if not exact.is_finite():
            return ("n", str(exact))
        if exact == exact.to_integral_value():
            return int(exact)
        return ("n", _number(exact))
    if isinstance(value, bytes | bytearray | memoryview):
        return ("b", bytes(value).hex())
    return ("?", repr(value))


def table_digest(conn: Any, table: str, info: Table, columns: list[str] | None = None,
                 chunk: int = 5000) -> tuple[int, str]:
    """Return ``(rows, sha256 hex)`` of ``table``'s rows in primary-key order.

    ``info`` is ``describe(conn)[table]``; ``columns`` (default: all, generated ones included)
    name what is hashed, in that order: pass the same list for both sides of a comparison.
    """
    cols = columns if columns is not None else list(info.columns)
    pg = is_pg(conn)

    def key(col: str) -> str:
        if not pg:
            return f'"{col}"'
        return f'"{col}"' + (' COLLATE "C"' if col in info.text else "") + " NULLS FIRST"

    names = ", ".join(f'"{c}"' for c in cols)
    order = ", ".join(key(c) for c in (info.key or cols))
    sql = f'SELECT {names} FROM "{table}" ORDER BY {order}'  # noqa: S608 - catalog names
    h = hashlib.sha256()
    n = 0
    for rows in stream(conn, sql, chunk):
        for row in rows:
            values = tuple(row)
            if not set(map(type, values)) <= _PLAIN:
                values = tuple(map(normalise, values))
            h.update(repr(values).encode())
            h.update(b"\n")
        n += len(rows)
    return n, h.hexdigest()


__all__ = ["Table", "describe", "is_pg", "normalise", "stream", "table_digest"]
