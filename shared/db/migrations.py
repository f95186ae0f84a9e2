"""Numbered SQL migrations (``db/migrations/NNNN_name.sql``), applied once each, in order.

Applied versions are tracked in ``schema_migrations`` with a checksum: editing a migration that
was already applied is refused rather than silently ignored.  Every migration runs in its own
``BEGIN IMMEDIATE`` transaction, so several processes migrating at once apply each file once.

The one numbered set runs on SQLite and on PostgreSQL.  On PostgreSQL each statement is
translated by ``shared.db.dialect.ddl_to_pg``, SQLite's triggers are skipped and
``NNNN_name.pg.sql`` beside the migration (when there is one: trigger bodies) runs after it;
SQLite never reads the ``.pg.sql`` files.  The checksum is the ``.sql`` file's on both.
"""
from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from shared.db import dialect
from shared.db.database import Database
from shared.db.ownership import MARKET_TABLES
from shared.errors import OperationalError

log = logging.getLogger("database_operations")
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "db" / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")
_PG_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.pg\.sql$")

_TRACKING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def _files(directory: Path) -> list[tuple[int, str, Path]]:
    out = []
    for p in sorted(directory.glob("*.sql")):
        if _PG_NAME.match(p.name):
            if not p.with_name(p.name[: -len(".pg.sql")] + ".sql").exists():
                raise OperationalError(f"{p.name} has no {p.name[:-7]}.sql beside it")
            continue
        m = _NAME.match(p.name)
        if not m:
            raise OperationalError(f"migration file name {p.name!r} is not NNNN_name.sql")
        out.append((int(m.group(1)), m.group(2), p))
    versions = [v for v, _, _ in out]
    if len(set(versions)) != len(versions):
        raise OperationalError(f"two migrations share a number in {directory}")
    return out


def _statements(script: str) -> list[str]:
    stmts, buf = [], ""
    for line in script.splitlines(keepends=True):
        buf += line
        if sqlite3.complete_statement(buf):
            if buf.strip():
                stmts.append(buf.strip())
            buf = ""
    if buf.strip() and not all(ln.strip().startswith("--") or not ln.strip() for ln in buf.splitlines()):
        raise OperationalError(f"incomplete SQL statement at the end of a migration: {buf[:80]!r}")
    return stmts


def _pg_statements(text: str, path: Path) -> list[str]:
    """Return migration ``path`` as PostgreSQL runs it (see the module's docstring)."""
    stmts = [dialect.ddl_to_pg(s) for s in _statements(text) if not dialect.is_trigger_ddl(s)]
    variant = path.with_name(path.name[: -len(".sql")] + ".pg.sql")
    if variant.exists():
        stmts += dialect.split_statements(variant.read_text())
    return stmts


def reset_identities(conn: object) -> None:
    """Move every identity of a PostgreSQL database past its largest stored id (a row inserted
    with an explicit id, by a migration or a copy, is not seen by the sequence)."""
    for table, column in conn.execute(  # type: ignore[attr-defined]
            "SELECT table_name, column_name FROM information_schema.columns "
            "WHERE table_schema = current_schema() AND is_identity = 'YES'").fetchall():
        conn.execute(  # type: ignore[attr-defined]
            f'SELECT setval(pg_get_serial_sequence(?, ?), '  # noqa: S608 - catalog names
            f'COALESCE((SELECT MAX("{column}") FROM "{table}"), 0) + 1, false)',
            (table, column))


def _pg_finish(conn: object) -> None:
    """After PostgreSQL's migrations: identities past the stored ids, the market tables'
    read-only guard."""
    reset_identities(conn)
    have = {r[0] for r in conn.execute(  # type: ignore[attr-defined]
        "SELECT table_name FROM information_schema.tables "
        "WHERE table_schema = current_schema()").fetchall()}
    for stmt in dialect.guard_statements(tuple(t for t in MARKET_TABLES if t in have)):
        conn.execute(stmt)  # type: ignore[attr-defined]


def applied_migrations(db: Database) -> dict[int, str]:
    """Return ``{version: name}`` of the applied migrations."""
    db.execute_with_retry(_TRACKING)
    return {r["version"]: r["name"] for r in db.fetch_all(
        "SELECT version, name FROM schema_migrations ORDER BY version")}


def migrate(db: Database, directory: Path = MIGRATIONS_DIR) -> list[str]:
    """Apply every pending migration; return the names applied (empty when up to date).

    Raises:
        OperationalError: when an applied migration's file changed or a file is misnamed.
    """
    pg = db.dialect == "postgresql"
    if pg:
        with db.transaction("migrate:prelude") as conn:
            for stmt in dialect.PRELUDE:
                conn.execute(stmt)
    db.execute_with_retry(_TRACKING)
    applied: list[str] = []
    for version, name, path in _files(directory):
        text = path.read_text()
        checksum = hashlib.sha256(text.encode()).hexdigest()
        with db.transaction(f"migrate:{version}") as conn:
            row = conn.execute(
                "SELECT checksum FROM schema_migrations WHERE version = ?", (version,)
            ).fetchone()
            if row is not None:
                if row[0] != checksum:
                    raise OperationalError(
                        f"migration {path.name} changed after it was applied; add a new one")
                continue
            for stmt in (_pg_statements(text, path) if pg else _statements(text)):
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, ?)",
                (version, name, checksum, datetime.now(UTC).isoformat()),
            )
        log.info("migration applied", extra={"version": version, "migration": name})
        applied.append(path.name)
    if pg:
        with db.transaction("migrate:finish") as conn:
            _pg_finish(conn)
    return applied
