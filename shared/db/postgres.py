"""The PostgreSQL engine behind ``DatabaseServiceMixin`` (``DATABASE_URL=postgresql://...``).

``PgDatabase`` is a ``Database``: the mixin, the unit of work, the retries and the statistics
are the same code.  What differs is the connection: each thread holds one psycopg 3
connection leased from a ``psycopg_pool.ConnectionPool`` (returned when the thread ends, so
a server's short-lived request threads reuse a few connections), wrapped in ``PgConnection``,
which takes the suite's sqlite3-style SQL (``shared.db.dialect`` rewrites it) and returns rows
that allow ``row["col"]`` and ``row[0]``.  Connections run in autocommit mode and transactions
are only the ones the engine opens, as with SQLite.
"""
from __future__ import annotations

import hashlib
import logging
import os
import re
import tempfile
import threading
import weakref
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit, urlunsplit

import psycopg
from psycopg import ClientCursor
from psycopg.pq import TransactionStatus
from psycopg_pool import ConnectionPool, PoolTimeout

from shared.db import dialect
from shared.db._pg_rows import BoolAsInt, NumericAsSqlite, Row, suite_row
from shared.db.database import Database
from shared.errors import DatabaseBusyError, OperationalError, ValidationError

if TYPE_CHECKING:
    from shared.config import Settings

log = logging.getLogger("database_operations")
_IDLE = TransactionStatus.IDLE
#: connections forked processes inherited: never closed nor collected there (closing one
#: would end the parent's session on the server)
_INHERITED: list[Any] = []


CONNECT_TIMEOUT_S = 5
#: how long a thread waits for a free pooled connection before a 503
LEASE_TIMEOUT_S = 10.0
_PLAIN_INSERT = re.compile(r"^\s*INSERT\s+(OR\s+IGNORE\s+)?INTO\s+\w+\s*\([^)]*\)\s*VALUES\s*\(",
                           re.I)
#: SQLite's process heap bounds, read as "none" here (setting them does nothing)
_NO_LIMIT = frozenset({"soft_heap_limit", "hard_heap_limit"})


# -- the connection --------------------------------------------------------------------------
class PgConnection:
    """One thread's PostgreSQL connection, spoken to as the suite speaks to sqlite3."""

    dialect = "postgresql"  # shared.sqlcompat picks each engine's fragments by it

    def __init__(self, db: PgDatabase) -> None:
        self.db = db
        self._raw: psycopg.Connection[Any] | None = None
        self._guard_gen = -1
        self._finalizer: weakref.finalize | None = None

    # the leased psycopg connection, replaced when it broke outside a transaction
    @property
    def raw(self) -> psycopg.Connection[Any]:
        raw = self._raw
        if raw is None or raw.broken or raw.closed:
            if raw is not None:
                self.db._give_back(raw)
                self.db.reopens += 1
            raw = self._raw = self.db._lease()
            self._guard_gen = -1
            if self._finalizer is not None:
                self._finalizer.detach()
            # give the connection back to the pool when this wrapper is collected (its thread
            # ended), without keeping the wrapper alive
            self._finalizer = weakref.finalize(self, self.db._give_back, raw, os.getpid())
        if self._guard_gen != self.db._guard_gen and raw.info.transaction_status == _IDLE:
            tables = ",".join(sorted(self.db._read_only))
            raw.execute("SELECT set_config('suite.read_only_tables', %s, false)", (tables,))
            self._guard_gen = self.db._guard_gen
        return raw

    @property
    def in_transaction(self) -> bool:
        raw = self._raw
        return (raw is not None and not raw.closed and not raw.broken
                and raw.info.transaction_status != _IDLE)

    def execute(self, sql: str, params: Any = ()) -> Any:
        raw = self.raw
        prag = dialect.pragma(sql)
        if prag is not None:
            return self._pragma(raw, *prag)
        head = sql.lstrip()[:8].upper()
        if head.startswith("COMMIT") or head.startswith("END"):
            if raw.info.transaction_status == TransactionStatus.INERROR:
                # PostgreSQL answers COMMIT of an aborted transaction with a silent ROLLBACK;
                # SQLite would have committed what succeeded: never report that as a commit
                raw.execute("ROLLBACK")
                raise psycopg.errors.InFailedSqlTransaction(
                    "the transaction was rolled back: a statement in it failed")
        pg = dialect.to_pg(sql, bool(params))
        cur = raw.cursor()
        try:
            cur.execute(pg, params if params else None)
        except psycopg.Error:
            if pg.startswith("BEGIN") and self.in_transaction:
                raw.execute("ROLLBACK")  # the lock wait failed: leave no transaction behind
            raise
        return cur

    def executemany(self, sql: str, seq: Iterable[Any]) -> Any:
        raw = self.raw
        # A plain INSERT ... VALUES binds every parameter to a column, so the server infers
        # its type: bound server-side, psycopg pipelines the rows (about twice the rows a
        # second of the client-side binding that every other statement uses)
        cur = (psycopg.Cursor(raw) if _PLAIN_INSERT.match(sql) and "SELECT" not in sql.upper()
               else raw.cursor())
        cur.executemany(dialect.to_pg(sql, True), list(seq))
        return cur

    def executescript(self, script: str) -> None:
        for stmt in dialect.split_statements(script):
            self.execute(stmt)

    def commit(self) -> None:
        if self.in_transaction:
            self.execute("COMMIT")

    def rollback(self) -> None:
        if self.in_transaction:
            self.raw.execute("ROLLBACK")

    def close(self) -> None:
        if self._finalizer is not None:
            self._finalizer()  # gives the connection back to the pool, once
        self._raw = None

    def _pragma(self, raw: psycopg.Connection[Any], name: str, arg: str | None) -> Any:
        """SQLite's PRAGMAs: the few with a PostgreSQL meaning answered, settings ignored."""
        cur = raw.cursor()
        if name == "table_info" and arg:
            cur.execute(
                "SELECT ordinal_position - 1 AS cid, column_name AS name, "
                "upper(data_type) AS type, (is_nullable = 'NO')::int AS notnull, "
                "column_default AS dflt_value, 0 AS pk FROM information_schema.columns "
                "WHERE table_schema = current_schema() AND table_name = %s "
                "ORDER BY ordinal_position", (arg,))
        elif name in ("quick_check", "integrity_check"):
            cur.execute("SELECT 'ok' AS " + name)
        elif name in _NO_LIMIT and arg is None:  # SQLite's heap bounds: none in this process
            cur.execute("SELECT 0 AS " + name)
        else:  # journal_mode, synchronous, cache_size, wal_checkpoint...: SQLite's own
            cur.execute("SELECT NULL AS pragma WHERE false")
        return cur


# -- the engine ------------------------------------------------------------------------------
def redact(url: str) -> str:
    """Return ``url`` without its password (for logs, /health and stats)."""
    parts = urlsplit(url)
    if parts.password is None:
        return url
    netloc = parts.netloc.rsplit("@", 1)
    user = netloc[0].split(":", 1)[0]
    return urlunsplit(parts._replace(netloc=f"{user}:***@{netloc[1]}"))


class PgDatabase(Database):
    """One PostgreSQL database shared by the suite, seen from one process."""

    dialect = "postgresql"

    def __init__(self, url: str, *, pool_max_size: int = 16, **kwargs: Any) -> None:
        kwargs.pop("cache_size_kib", None)
        kwargs.pop("soft_heap_mb", None)
        kwargs.pop("wal_autocheckpoint_pages", None)
        key = hashlib.sha1(redact(url).encode()).hexdigest()[:16]
        # a local path per database: a key for per-database caches and the home of the
        # process-local lock files some services keep beside the SQLite file
        super().__init__(Path(tempfile.gettempdir()) / "trading-suite-pg" / key, **kwargs)
        self.url = url
        self.pool_max_size = pool_max_size
        self._pool: ConnectionPool | None = None
        self._guard_gen = 0
        self._all_pg: weakref.WeakSet[PgConnection] = weakref.WeakSet()

    @classmethod
    def from_settings(cls, settings: Settings) -> PgDatabase:  # type: ignore[override]
        db = settings.database
        assert db.url is not None
        return cls(db.url, busy_timeout_ms=db.busy_timeout_ms, retry_attempts=db.retry_attempts,
                   retry_initial_s=db.retry_initial_s, retry_max_s=db.retry_max_s,
                   slow_query_ms=db.slow_query_ms, pool_size=db.pool_size,
                   pool_max_size=db.pool_max_size)

    @property
    def label(self) -> str:
        return redact(self.url)

    # -- the pool ----------------------------------------------------------------------------
    def _configure(self, raw: psycopg.Connection[Any]) -> None:
        raw.adapters.register_dumper(bool, BoolAsInt)
        raw.adapters.register_loader("numeric", NumericAsSqlite)
        # SQLite's busy_timeout: how long a writer waits for the write lock before the retry
        # policy takes over (55P03 lock_not_available is retried like "database is locked")
        raw.execute(f"SET lock_timeout = {int(self.busy_timeout_ms)}")
        raw.execute("SET TIME ZONE 'UTC'")

    def _get_pool(self) -> ConnectionPool:
        if self._pool is None:
            with self._lock:
                if self._pool is None:
                    self.path.parent.mkdir(parents=True, exist_ok=True)
                    # one direct connection first: a wrong host, port or login is one clear
                    # error now, where the pool would retry it in the background until a
                    # lease timed out
                    try:
                        psycopg.connect(self.url, connect_timeout=CONNECT_TIMEOUT_S).close()
                    except psycopg.Error as exc:
                        raise self._unreachable(exc) from exc
                    self._pool = ConnectionPool(
                        self.url, min_size=1, max_size=self.pool_max_size, open=True,
                        name=f"suite-{os.getpid()}", timeout=LEASE_TIMEOUT_S,
                        kwargs={"autocommit": True, "cursor_factory": ClientCursor,
                                "row_factory": suite_row},
                        configure=self._configure)
        return self._pool

    def _unreachable(self, exc: BaseException) -> OperationalError:
        lines = str(exc).strip().splitlines()
        reason = lines[0].rsplit(" failed: ", 1)[-1] if lines else type(exc).__name__
        return OperationalError(f"PostgreSQL {redact(self.url)} cannot be reached ({reason})",
                                details=str(exc), code="database_unavailable")

    def _lease(self) -> psycopg.Connection[Any]:
        pool = self._get_pool()
        try:
            return pool.getconn()
        except PoolTimeout as exc:
            if pool.get_stats().get("connections_errors", 0) and not pool.get_stats().get(
                    "pool_available", 0):  # the server went away: not a busy pool
                raise self._unreachable(exc) from exc
            raise DatabaseBusyError(
                f"no PostgreSQL connection free within {LEASE_TIMEOUT_S:g} s "
                f"(database.pool_max_size={self.pool_max_size})", details=str(exc)) from exc
        except psycopg.OperationalError as exc:
            raise self._unreachable(exc) from exc

    def _give_back(self, raw: psycopg.Connection[Any], pid: int | None = None) -> None:
        if os.getpid() != (pid or self._pid):
            return  # a connection a forked process inherited: the parent's session, not ours
        pool = self._pool
        if pool is None or pool.closed:
            if not raw.closed:
                raw.close()
            return
        try:
            pool.putconn(raw)
        except Exception:  # noqa: BLE001 - a connection of another pool / already returned
            log.debug("connection not returned to the pool", exc_info=True)

    # -- connections -------------------------------------------------------------------------
    def get_db_connection(self, retries: int = 3, timeout: float = 30.0) -> PgConnection:  # type: ignore[override]
        """Return this thread's connection (leased from the pool on first use)."""
        if os.getpid() != self._pid:  # never share a connection across fork()
            _INHERITED.append((self._pool, list(self._all_pg)))
            self._pool = None
            self._all_pg = weakref.WeakSet()
            self._local = threading.local()
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = PgConnection(self)
            conn.raw  # noqa: B018 - lease now: a bad URL fails here, not mid-transaction
            self._local.conn = conn
            self._all_pg.add(conn)
        return conn

    connection = get_db_connection

    def close(self) -> None:
        """Give back every connection and close the pool."""
        for conn in list(self._all_pg):
            conn.close()
        self._all_pg = weakref.WeakSet()
        self._local = threading.local()
        pool, self._pool = self._pool, None
        if pool is not None and os.getpid() == self._pid:
            pool.close()

    def protect(self, tables: Iterable[str]) -> None:
        """Refuse writes to ``tables`` from this process (a trigger checks the session's
        ``suite.read_only_tables``; ``migrate`` installs it on the market tables)."""
        if self._owner:
            return
        self._read_only = self._read_only | frozenset(tables)
        self._guard_gen += 1

    def claim_ownership(self) -> None:
        self._owner = True
        self._read_only = frozenset()
        self._guard_gen += 1

    # -- health and statistics -------------------------------------------------------------
    def probe_write(self, timeout_s: float = 0.5) -> str | None:
        try:
            with psycopg.connect(self.url, autocommit=True,
                                 connect_timeout=max(1, int(timeout_s))) as raw:
                raw.execute("BEGIN")
                raw.execute("CREATE TEMP TABLE _suite_write_probe (x int)")
                raw.execute("ROLLBACK")
            return None
        except psycopg.Error as exc:
            return None if dialect.is_pg_retryable(exc) and exc.sqlstate else str(exc)

    def ping(self) -> bool:
        try:
            self.get_db_connection().execute("SELECT 1").fetchone()
            return True
        except (psycopg.Error, OperationalError, DatabaseBusyError):
            return False

    def table_names(self) -> list[str]:
        return [r[0] for r in self.fetch_all(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = "
            "current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name")]

    def get_database_stats(self) -> dict[str, Any]:
        counts = {t: self.fetch_one(f'SELECT COUNT(*) FROM "{t}"')[0]  # noqa: S608 - catalog names
                  for t in self.table_names()}
        size = self.fetch_one("SELECT pg_database_size(current_database())")[0]
        pool = self._pool.get_stats() if self._pool is not None else {}
        return {
            "path": redact(self.url),
            "file_bytes": int(size),
            "wal_bytes": 0,
            "tables": counts,
            "pool": {"open_connections": len(self._all_pg), "pool_size": self.pool_max_size,
                     "pool_stats": pool},
            "queries": self.stats.snapshot(),
        }

    def _insert_sql(self, table: str, columns: Sequence[str], on_conflict: str | None) -> str:
        if on_conflict != "replace":
            return super()._insert_sql(table, columns, on_conflict)
        keys = [r[0] for r in self.fetch_all(
            "SELECT a.attname FROM pg_index i JOIN pg_attribute a ON a.attrelid = i.indrelid "
            "AND a.attnum = ANY(i.indkey) WHERE i.indrelid = ?::regclass AND i.indisprimary",
            (table,))]
        if not keys:
            raise ValidationError(f"table {table} has no primary key to replace on",
                                  field="on_conflict")
        rest = [c for c in columns if c not in keys]
        action = ("DO UPDATE SET " + ", ".join(f"{c} = excluded.{c}" for c in rest)
                  if rest else "DO NOTHING")
        return super()._insert_sql(table, columns, f"({', '.join(keys)}) {action}")


__all__ = ["PgConnection", "PgDatabase", "Row", "redact"]
