"""Read the suite's database from the test process on either engine, as an auditor would.

``snapshot(target)`` yields ``rows(sql, args)`` over one consistent read-only snapshot of a
SQLite file (a path) or a PostgreSQL database (a ``postgresql://`` URL); the SQL is written
once in sqlite3's form (``?``) and rewritten for psycopg by ``shared.db.dialect.to_pg``.
It deliberately bypasses the services' ``Database``: the audit must not trust the code it
checks.  ``integrity_problems(target)`` is the engine's own check of the stored pages:
SQLite's ``PRAGMA integrity_check``, PostgreSQL's amcheck (every table's heap and every
B-tree index against it).
"""
from __future__ import annotations

import sqlite3
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

Rows = Callable[..., list[dict[str, Any]]]


def is_pg(target: str | Path) -> bool:
    return str(target).startswith(("postgresql://", "postgres://"))


@contextmanager
def snapshot(target: str | Path) -> Iterator[Rows]:
    """Yield ``rows(sql, args=())``: every read sees the same committed state, nothing writes."""
    if is_pg(target):
        import psycopg

        from shared.db.dialect import to_pg

        pg = psycopg.connect(str(target))
        pg.isolation_level = psycopg.IsolationLevel.REPEATABLE_READ  # one snapshot
        pg.read_only = True
        try:
            def pg_rows(sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
                cur = pg.execute(to_pg(sql, bool(args)), args or None)
                names = [d.name for d in cur.description or ()]
                return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

            yield pg_rows
        finally:
            pg.rollback()
            pg.close()
        return
    conn = sqlite3.connect(f"file:{target}?mode=ro", uri=True)
    try:
        conn.execute("BEGIN")  # one snapshot for every read

        def lite_rows(sql: str, args: tuple[Any, ...] = ()) -> list[dict[str, Any]]:
            cur = conn.execute(sql, args)
            names = [d[0] for d in cur.description or ()]
            return [dict(zip(names, r, strict=True)) for r in cur.fetchall()]

        yield lite_rows
        conn.rollback()
    finally:
        conn.close()


def scalar(target: str | Path, sql: str, args: tuple[Any, ...] = ()) -> Any:
    """Return the first column of the first row of ``sql`` on ``target``."""
    with snapshot(target) as rows:
        row = rows(sql, args)[0]
    return next(iter(row.values()))


#: every table's heap (pages, tuples, TOAST) and every B-tree index of the public schema,
#: each index also checked to hold exactly the heap's live tuples (heapallindexed)
_AMCHECK_HEAP = ("SELECT c.relname, v.blkno, v.offnum, v.msg FROM pg_class c "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "CROSS JOIN LATERAL verify_heapam(c.oid, check_toast => true) v "
                 "WHERE n.nspname = 'public' AND c.relkind = 'r'")
_AMCHECK_INDEXES = ("SELECT c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                    "JOIN pg_am a ON a.oid = c.relam "
                    "WHERE n.nspname = 'public' AND c.relkind = 'i' AND a.amname = 'btree' "
                    "ORDER BY c.relname")


def integrity_problems(target: str | Path) -> list[str]:
    """Return what the engine's own checker finds wrong with the stored data ([]: sound).

    On PostgreSQL this creates the ``amcheck`` extension (the test cluster's superuser may)
    and raises if an index check itself fails (amcheck raises on a corrupt index).
    """
    if not is_pg(target):
        with sqlite3.connect(f"file:{target}?mode=ro", uri=True) as conn:
            found = [r[0] for r in conn.execute("PRAGMA integrity_check").fetchall()]
        return [] if found == ["ok"] else found
    import psycopg

    with psycopg.connect(str(target), autocommit=True) as pg:
        pg.execute("CREATE EXTENSION IF NOT EXISTS amcheck")
        problems = [f"{t} block {b} item {o}: {m}" for t, b, o, m in pg.execute(_AMCHECK_HEAP)]
        indexes = [r[0] for r in pg.execute(_AMCHECK_INDEXES)]
        for name in indexes:
            pg.execute("SELECT bt_index_check(%s::regclass, true)", (f'public."{name}"',))
        if not indexes:
            problems.append("no B-tree index found: not the suite's database?")
    return problems
