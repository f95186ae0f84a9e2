"""The engine behind ``DatabaseServiceMixin``: pragmas, per-thread pool, retries, timing.

Every connection runs in autocommit mode (``isolation_level=None``) so that transactions are
only the ones we open, always with ``BEGIN IMMEDIATE``: a deferred read-then-write transaction
in WAL mode can fail with SQLITE_BUSY without waiting, which ``BEGIN IMMEDIATE`` avoids.
"""
from __future__ import annotations

import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

from shared.db.dialect import DatabaseError, OperationalErrors, pg_fault
from shared.db.retry import call_with_lock_retry, is_lock_error
from shared.db.stats import QueryStats
from shared.errors import OperationalError, ValidationError

if TYPE_CHECKING:
    from shared.config import Settings

T = TypeVar("T")
log = logging.getLogger("database_operations")
_IDENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
_FATAL_MARKERS = {
    "disk is full": "the database disk is full",
    "readonly database": "the database file is read-only",
    "disk i/o error": "disk I/O error on the database file",
    "unable to open database": "the database file cannot be opened",
}


#: errors after which a connection cannot be trusted: SQLite keeps a file it opened read-only
#: (or after an I/O error) that way for the connection's life, even once the file is fixed
_REOPEN_MARKERS = ("readonly database", "disk i/o error", "unable to open database")
#: consecutive failed writes after which /health asks a probe write whether writes work
WRITE_FAILURES_UNHEALTHY = 3


def _needs_reopen(exc: BaseException) -> bool:
    text = str(exc).lower()
    return any(m in text for m in _REOPEN_MARKERS)


def _operational(exc: BaseException) -> Exception:
    """Return a clear ``OperationalError`` for disk faults, or ``exc`` itself."""
    if is_lock_error(exc):  # the retry policy's to judge (a dropped connection, a shutdown)
        return exc
    fault = pg_fault(exc)
    if fault is not None:
        return OperationalError(fault, details=str(exc), code="database_unavailable")
    text = str(exc).lower()
    for marker, message in _FATAL_MARKERS.items():
        if marker in text:
            return OperationalError(message, details=str(exc), code="database_unavailable")
    return exc


_WRITES = frozenset((sqlite3.SQLITE_INSERT, sqlite3.SQLITE_UPDATE, sqlite3.SQLITE_DELETE,
                     sqlite3.SQLITE_DROP_TABLE, sqlite3.SQLITE_ALTER_TABLE))


def _deny_writes(tables: frozenset[str]) -> Callable[..., int]:
    def check(action: int, arg1: str | None, _arg2: str | None, _db: str | None,
              _trigger: str | None) -> int:
        if action in _WRITES and arg1 in tables:
            return sqlite3.SQLITE_DENY
        return sqlite3.SQLITE_OK

    return check


class Database:
    """One SQLite file shared by the suite, seen from one process.

    ``Database.from_settings`` returns the PostgreSQL engine (``shared.db.postgres``, a
    subclass) when ``database.url`` is a ``postgresql://`` URL.
    """

    dialect = "sqlite"

    def __init__(
        self,
        path: str | os.PathLike[str],
        *,
        busy_timeout_ms: int = 30000,
        cache_size_kib: int = 64000,
        retry_attempts: int = 8,
        retry_initial_s: float = 0.01,
        retry_max_s: float = 1.0,
        slow_query_ms: float = 100.0,
        pool_size: int = 4,
        soft_heap_mb: int = 0,
        wal_autocheckpoint_pages: int = 1000,
    ) -> None:
        self.path = Path(path)
        self.soft_heap = soft_heap_mb * 2**20
        self.wal_autocheckpoint_pages = wal_autocheckpoint_pages
        self.busy_timeout_ms = busy_timeout_ms
        self.cache_size_kib = cache_size_kib
        self.retry_attempts = retry_attempts
        self.retry_initial_s = retry_initial_s
        self.retry_max_s = retry_max_s
        self.pool_size = pool_size
        self.stats = QueryStats(slow_ms=slow_query_ms)
        self._local = threading.local()
        self._lock = threading.Lock()
        self._all: list[sqlite3.Connection] = []
        self._pid = os.getpid()
        self._read_only: frozenset[str] = frozenset()
        self._owner = False
        # write outcomes (this process): consecutive failures since the last commit, and a
        # generation that every thread's connection is checked against (bumped on a
        # read-only / I/O error: each thread reopens its connection before its next use)
        self.write_failures = 0
        self.last_write_error: str | None = None
        self.reopens = 0
        self._generation = 0

    @classmethod
    def from_settings(cls, settings: Settings) -> Database:
        db = settings.database
        if db.url is not None and db.url.startswith(("postgresql://", "postgres://")):
            from shared.db.postgres import PgDatabase  # psycopg only where it is used

            return PgDatabase.from_settings(settings)
        return cls(
            settings.database_path,
            busy_timeout_ms=db.busy_timeout_ms,
            cache_size_kib=db.cache_size_kib,
            retry_attempts=db.retry_attempts,
            retry_initial_s=db.retry_initial_s,
            retry_max_s=db.retry_max_s,
            slow_query_ms=db.slow_query_ms,
            pool_size=db.pool_size,
            soft_heap_mb=db.soft_heap_mb,
            wal_autocheckpoint_pages=db.wal_autocheckpoint_pages,
        )

    # -- connections -------------------------------------------------------------------
    def _open(self, timeout: float) -> sqlite3.Connection:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        conn = sqlite3.connect(
            str(self.path), timeout=timeout, isolation_level=None, check_same_thread=False
        )
        conn.row_factory = sqlite3.Row
        conn.execute(f"PRAGMA busy_timeout={int(self.busy_timeout_ms)}")
        mode = conn.execute("PRAGMA journal_mode=WAL").fetchone()[0]
        if mode.lower() != "wal":
            raise OperationalError(f"could not switch {self.path} to WAL (got {mode})")
        conn.execute("PRAGMA synchronous=NORMAL")
        conn.execute(f"PRAGMA wal_autocheckpoint={int(self.wal_autocheckpoint_pages)}")
        conn.execute(f"PRAGMA cache_size=-{int(self.cache_size_kib)}")
        conn.execute("PRAGMA foreign_keys=ON")
        if self.soft_heap:
            # process-wide: only ever lowered here (the market owner sets a tighter one)
            current = int(conn.execute("PRAGMA soft_heap_limit").fetchone()[0])
            if current == 0 or current > self.soft_heap:
                conn.execute(f"PRAGMA soft_heap_limit={int(self.soft_heap)}")
        if self._read_only:
            conn.set_authorizer(_deny_writes(self._read_only))
        return conn

    def checkpoint(self) -> tuple[int, int, int] | None:
        """Run a PASSIVE WAL checkpoint on this thread's connection; return SQLite's
        (busy, frames in the WAL, frames checkpointed), or None where there is no WAL.

        PASSIVE copies what no reader still needs back into the database file without
        blocking writers or readers (they commit and read meanwhile); the suite runs it
        outside commits (``database.wal_autocheckpoint_pages`` is only a backstop).
        """
        if self.dialect != "sqlite":
            return None
        row = self.get_db_connection().execute("PRAGMA wal_checkpoint(PASSIVE)").fetchone()
        return None if row is None else (int(row[0]), int(row[1]), int(row[2]))

    def protect(self, tables: Iterable[str]) -> None:
        """Refuse every write to ``tables`` on this process's connections, now and later.

        Enforced by SQLite itself (an authorizer callback checked when a statement is
        prepared): an INSERT, UPDATE or DELETE naming one of them fails with
        ``sqlite3.DatabaseError: not authorized``, so a reader cannot write them by mistake.
        """
        if self._owner:
            return
        self._read_only = self._read_only | frozenset(tables)
        self._set_authorizer(_deny_writes(self._read_only))

    def claim_ownership(self) -> None:
        """Make this process an owner: nothing is protected from it, now or later.

        For a process hosting several services on one ``Database`` (in-process tests):
        when the owner is among them, the process writes what the owner writes.
        """
        self._owner = True
        self._read_only = frozenset()
        self._set_authorizer(None)

    def _set_authorizer(self, check: Callable[..., int] | None) -> None:
        with self._lock:
            for conn in self._all:
                conn.set_authorizer(check)

    @property
    def label(self) -> str:
        """Where the data lives, for people: the file (PostgreSQL: the URL, no password)."""
        return str(self.path)

    @property
    def read_only_tables(self) -> frozenset[str]:
        return self._read_only

    def get_db_connection(self, retries: int = 3, timeout: float = 30.0) -> sqlite3.Connection:
        """Return this thread's connection, opening it (with ``retries``) on first use.

        Raises:
            OperationalError: when the file cannot be opened or configured.
        """
        if os.getpid() != self._pid:  # never share a connection across fork()
            self._local = threading.local()
            self._all = []
            self._pid = os.getpid()
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            if getattr(self._local, "generation", self._generation) == self._generation \
                    or conn.in_transaction:
                return conn
            self._drop(conn)  # opened before a read-only / I/O error: reopen it
        try:
            conn = call_with_lock_retry(
                lambda: self._open(timeout),
                attempts=max(1, retries),
                initial=self.retry_initial_s,
                maximum=self.retry_max_s,
                on_retry=self.stats.add_retry,
            )
        except sqlite3.OperationalError as exc:
            raise _operational(exc) from exc
        self._local.conn = conn
        self._local.generation = self._generation
        with self._lock:
            self._all.append(conn)
        return conn

    def _drop(self, conn: sqlite3.Connection) -> None:
        """Close this thread's connection; the next use opens a new one."""
        self._local.conn = None
        with self._lock:
            if conn in self._all:
                self._all.remove(conn)
        try:
            conn.close()
        except sqlite3.Error:
            pass
        self.reopens += 1

    # -- write health --------------------------------------------------------------------
    def write_failed(self, exc: BaseException) -> None:
        """Count a failed write; on a read-only / I/O error make every thread reopen."""
        self.write_failures += 1
        self.last_write_error = str(exc)
        if _needs_reopen(exc):
            self._generation += 1

    def write_succeeded(self) -> None:
        self.write_failures = 0

    def probe_write(self, timeout_s: float = 0.5) -> str | None:
        """Write on a fresh connection and roll it back; return why it failed, else None.

        A file SQLite may not write is opened read-only without a word and ``BEGIN
        IMMEDIATE`` still succeeds on it; the first statement that changes a page fails
        (SQLITE_READONLY), so the probe creates a table and rolls back (nothing is kept).
        A lock held by another writer is not a failure (None).
        """
        try:
            conn = sqlite3.connect(str(self.path), timeout=timeout_s, isolation_level=None)
        except sqlite3.Error as exc:
            return str(exc)
        try:
            conn.execute("BEGIN IMMEDIATE")
            conn.execute("CREATE TABLE _suite_write_probe (x)")
            conn.execute("ROLLBACK")
            return None
        except sqlite3.OperationalError as exc:
            return None if is_lock_error(exc) else str(exc)
        finally:
            conn.close()

    def write_health(self) -> dict[str, Any]:
        """Return whether writes work: after ``WRITE_FAILURES_UNHEALTHY`` failed writes in a
        row, a probe write decides (a success forgets the failures: the next write reopens)."""
        out: dict[str, Any] = {"ok": True, "consecutive_failures": self.write_failures,
                               "reopens": self.reopens}
        if self.write_failures >= WRITE_FAILURES_UNHEALTHY:
            error = self.probe_write()
            if error is None:
                self.write_failures = 0
                self._generation += 1
            else:
                out.update(ok=False, last_error=self.last_write_error, probe_error=error)
        return out

    connection = get_db_connection

    def close(self) -> None:
        """Close every connection this process opened."""
        with self._lock:
            conns, self._all = self._all, []
        for c in conns:
            try:
                c.close()
            except sqlite3.Error:
                pass
        self._local = threading.local()

    # -- transactions ------------------------------------------------------------------
    def _begin(self, conn: sqlite3.Connection) -> None:
        # Fast path without building a tenacity Retrying object: most BEGINs get the lock at
        # once (SQLite's own busy_timeout waits first); only a lock error enters the retry loop.
        try:
            conn.execute("BEGIN IMMEDIATE")
            return
        except OperationalErrors as exc:
            if not is_lock_error(exc):
                raise
            self.stats.add_retry()
        call_with_lock_retry(
            lambda: conn.execute("BEGIN IMMEDIATE"),
            attempts=self.retry_attempts,
            initial=self.retry_initial_s,
            maximum=self.retry_max_s,
            on_retry=self.stats.add_retry,
        )

    def transaction(self, label: str = "transaction") -> _Transaction:
        """Run the block in one ``BEGIN IMMEDIATE`` transaction: commit, or roll back on error.

        ``with db.transaction() as conn: ...``.  Nested use joins the outer transaction through
        a SAVEPOINT, so an inner failure undoes only the inner block.

        Raises:
            DatabaseBusyError: when the write lock could not be taken after every retry.
            OperationalError: on a full disk or a read-only file.
        """
        return _Transaction(self, label)

    def run_in_transaction(self, fn: Callable[[sqlite3.Connection], T], label: str = "") -> T:
        """Call ``fn(conn)`` in a transaction, re-running it whole if SQLite reports a lock.

        Use this when a lock can surface after ``BEGIN`` (e.g. on COMMIT); ``fn`` must be safe
        to re-run, which it is because a failed attempt is rolled back.
        """

        def attempt() -> T:
            with self.transaction(label or getattr(fn, "__name__", "transaction")) as conn:
                return fn(conn)

        return call_with_lock_retry(
            attempt,
            attempts=self.retry_attempts,
            initial=self.retry_initial_s,
            maximum=self.retry_max_s,
            on_retry=self.stats.add_retry,
        )

    # -- statements --------------------------------------------------------------------
    def _timed(self, conn: sqlite3.Connection, sql: str, params: Any) -> sqlite3.Cursor:
        t0 = time.perf_counter()
        ok = False
        try:
            cur = conn.execute(sql, params)
            ok = True
            return cur
        finally:
            self.stats.record(sql, time.perf_counter() - t0, ok)

    def execute_with_retry(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> Any:
        """Run one statement; retry on lock.  Reads return rows, writes return ``rowcount``.

        A write runs in its own ``BEGIN IMMEDIATE`` transaction.
        """
        head = sql.lstrip()[:10].upper()
        if head.startswith(("SELECT", "WITH", "PRAGMA", "EXPLAIN")):
            try:  # fast path: a WAL read almost never meets a lock; no Retrying object built
                return self._timed(self.get_db_connection(), sql, params).fetchall()
            except OperationalErrors as exc:
                if not is_lock_error(exc):
                    raise
                self.stats.add_retry()
            return call_with_lock_retry(  # the connection asked again: a dropped one is replaced
                lambda: self._timed(self.get_db_connection(), sql, params).fetchall(),
                attempts=self.retry_attempts, initial=self.retry_initial_s,
                maximum=self.retry_max_s, on_retry=self.stats.add_retry,
            )
        return self.run_in_transaction(lambda c: self._timed(c, sql, params).rowcount, "execute")

    def fetch_all(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> list[sqlite3.Row]:
        """Return every row of a read-only query."""
        return self.execute_with_retry(sql, params)

    def fetch_one(self, sql: str, params: Sequence[Any] | Mapping[str, Any] = ()) -> sqlite3.Row | None:
        """Return the first row of a read-only query, or ``None``."""
        rows = self.execute_with_retry(sql, params)
        return rows[0] if rows else None

    def bulk_insert_with_transaction(
        self,
        table: str,
        rows: Iterable[Mapping[str, Any]] | Iterable[Sequence[Any]],
        columns: Sequence[str] | None = None,
        *,
        on_conflict: str | None = None,
    ) -> int:
        """Insert ``rows`` with one ``executemany`` in one transaction; return rows written.

        ``rows`` are mappings (columns taken from the first) or sequences with ``columns``.
        ``on_conflict`` is ``None``, ``"ignore"`` or ``"replace"``, or an ``ON CONFLICT`` upsert
        clause such as ``"(symbol, ts) DO UPDATE SET close=excluded.close"``.

        Raises:
            ValidationError: for a bad table or column name.
        """
        rows = list(rows)
        if not rows:
            return 0
        if columns is None:
            first = rows[0]
            if not isinstance(first, Mapping):
                raise ValidationError("columns are required for sequence rows", field="columns")
            columns = list(first.keys())
            data: list[Sequence[Any]] = [tuple(r[c] for c in columns) for r in rows]  # type: ignore[index]
        else:
            data = [tuple(r[c] for c in columns) if isinstance(r, Mapping) else r for r in rows]  # type: ignore[misc]
        for name in (table, *columns):
            if not _IDENT.match(name):
                raise ValidationError(f"invalid SQL identifier {name!r}", field="table")
        sql = self._insert_sql(table, columns, on_conflict)

        def write(conn: sqlite3.Connection) -> int:
            return conn.executemany(sql, data).rowcount

        return self.run_in_transaction(write, f"bulk_insert:{table}")

    def _insert_sql(self, table: str, columns: Sequence[str], on_conflict: str | None) -> str:
        verb = "INSERT"
        tail = ""
        if on_conflict == "ignore":
            tail = " ON CONFLICT DO NOTHING"
        elif on_conflict == "replace":
            verb = "INSERT OR REPLACE"
        elif on_conflict:
            tail = f" ON CONFLICT {on_conflict}"
        return (f"{verb} INTO {table} ({', '.join(columns)}) "
                f"VALUES ({', '.join('?' * len(columns))}){tail}")

    # -- introspection -----------------------------------------------------------------
    def table_names(self) -> list[str]:
        """Return the names of the database's tables, sorted."""
        return [r[0] for r in self.fetch_all(
            "SELECT name FROM sqlite_master WHERE type='table' AND name NOT LIKE 'sqlite_%' "
            "ORDER BY name")]

    def get_database_stats(self) -> dict[str, Any]:
        """Return row counts per table, file and WAL sizes, pool use and query stats."""
        tables = self.table_names()
        counts = {t: self.fetch_one(f'SELECT COUNT(*) FROM "{t}"')[0] for t in tables}  # noqa: S608 - names from sqlite_master

        def size(p: Path) -> int:
            try:
                return p.stat().st_size
            except OSError:
                return 0

        return {
            "path": str(self.path),
            "file_bytes": size(self.path),
            "wal_bytes": size(Path(str(self.path) + "-wal")),
            "tables": counts,
            "pool": {"open_connections": len(self._all), "pool_size": self.pool_size},
            "queries": self.stats.snapshot(),
        }

    def ping(self) -> bool:
        """Return True when the database answers a trivial query."""
        try:
            self.get_db_connection().execute("SELECT 1").fetchone()
            return True
        except (sqlite3.Error, OperationalError):
            return False


class _Transaction:
    """The context manager behind ``Database.transaction`` (a class, not a generator, because
    it sits on the hot path of every write and a generator context costs about 10% there)."""

    __slots__ = ("conn", "db", "label", "savepoint", "t0")

    def __init__(self, db: Database, label: str) -> None:
        self.db = db
        self.label = label
        self.savepoint: str | None = None

    def __enter__(self) -> sqlite3.Connection:
        conn = self.conn = self.db.get_db_connection()
        if conn.in_transaction:
            self.savepoint = f"sp_{time.perf_counter_ns()}"
            conn.execute(f"SAVEPOINT {self.savepoint}")
            return conn
        self.t0 = time.perf_counter()
        try:
            self.db._begin(conn)
        except OperationalErrors as exc:
            self.db.stats.record(self.label, time.perf_counter() - self.t0, False)
            if not is_lock_error(exc):
                self.db.write_failed(exc)
            raise _operational(exc) from exc
        return conn

    def __exit__(self, exc_type: Any, exc: Any, tb: Any) -> bool:
        conn = self.conn
        if self.savepoint is not None:
            if exc_type is not None:
                conn.execute(f"ROLLBACK TO {self.savepoint}")
            conn.execute(f"RELEASE {self.savepoint}")
            return False
        committed = False
        try:
            if exc_type is None:
                try:
                    conn.execute("COMMIT")
                    committed = True
                except OperationalErrors as err:
                    if not is_lock_error(err):
                        self.db.write_failed(err)
                    raise _operational(err) from err
        finally:
            if not committed and conn.in_transaction:
                try:
                    conn.execute("ROLLBACK")
                except DatabaseError:
                    log.exception("rollback failed")
            self.db.stats.record_transaction(self.label, time.perf_counter() - self.t0, committed)
            if committed:
                self.db.write_succeeded()
        if exc_type is not None and (issubclass(exc_type, OperationalErrors)
                                     or pg_fault(exc) is not None):
            if not is_lock_error(exc):
                self.db.write_failed(exc)
            mapped = _operational(exc)
            if mapped is not exc:
                raise mapped from exc
        return False


_registry: dict[str, Database] = {}
_registry_lock = threading.Lock()


def get_database(settings: Settings) -> Database:
    """Return this process's ``Database`` for the settings' file or URL (one per database)."""
    key = settings.database.url or str(settings.database_path)
    with _registry_lock:
        db = _registry.get(key)
        if db is None or db._pid != os.getpid():
            db = Database.from_settings(settings)
            _registry[key] = db
        return db


__all__ = ["Database", "get_database", "is_lock_error"]
