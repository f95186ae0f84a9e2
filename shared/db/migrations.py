"""Numbered SQL migrations (``db/migrations/NNNN_name.sql``), applied once each, in order.

Applied versions are tracked in ``schema_migrations`` with a checksum: editing a migration that
was already applied is refused rather than silently ignored.  Every migration runs in its own
``BEGIN IMMEDIATE`` transaction, so several processes migrating at once apply each file once.
"""
from __future__ import annotations

import hashlib
import logging
import re
import sqlite3
from datetime import UTC, datetime
from pathlib import Path

from shared.db.database import Database
from shared.errors import OperationalError

log = logging.getLogger("database_operations")
MIGRATIONS_DIR = Path(__file__).resolve().parents[2] / "db" / "migrations"
_NAME = re.compile(r"^(\d{4})_([a-z0-9_]+)\.sql$")

_TRACKING = """CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    checksum TEXT NOT NULL,
    applied_at TEXT NOT NULL
)"""


def _files(directory: Path) -> list[tuple[int, str, Path]]:
    out = []
    for p in sorted(directory.glob("*.sql")):
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
            for stmt in _statements(text):
                conn.execute(stmt)
            conn.execute(
                "INSERT INTO schema_migrations (version, name, checksum, applied_at) "
                "VALUES (?, ?, ?, ?)",
                (version, name, checksum, datetime.now(UTC).isoformat()),
            )
        log.info("migration applied", extra={"version": version, "migration": name})
        applied.append(path.name)
    return applied
