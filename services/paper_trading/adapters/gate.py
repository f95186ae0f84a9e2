"""Queue this service's write transactions on a kernel file lock instead of SQLite's busy loop.

While one connection holds SQLite's write lock, another ``BEGIN IMMEDIATE`` waits in SQLite's
default busy handler, which *sleeps* 1, 2, 5, 10, 15, 20, 25... ms between attempts.  Our
write transactions hold the lock for well under a millisecond, so with several gunicorn
workers submitting orders at once most of the waiting was those sleeps (workers idle, latency
up, throughput down).  Taking an exclusive ``flock`` on a file next to the database first
makes this service's writers queue in the kernel and wake the moment the previous one
finishes; SQLite's lock is then almost always free at ``BEGIN IMMEDIATE``.  Other services'
writers are unaffected (they still meet SQLite's lock as before).

``flock`` locks belong to an open file description, so the file is opened once per process
(after a fork, again) and threads of one process take a re-entrant mutex first.

SQLite checkpoints the WAL inside the ``COMMIT`` that takes it past ``wal_autocheckpoint``
pages: copying the pages back and two fsyncs, about 10 ms on our machines, and here that
happened while the gate was held, so every other writer of the service queued behind it
(the checkpoint share of a submission was larger than the whole write).  ``Checkpoints`` moves
it out: the suite's connections only checkpoint automatically as a distant backstop
(``database.wal_autocheckpoint_pages``), and
every ``every``-th unit of work of a process runs a PASSIVE checkpoint after leaving the gate,
which does not block writers (others commit meanwhile).  Whatever the number of workers,
about ``every`` commits of this service land between two checkpoints (a submission writes
about 11 pages, so the default 100 keeps the WAL near SQLite's own 4 MB; 500 measured a little
cheaper per commit alone but its longer checkpoints raised p99 on a loaded machine).
"""
from __future__ import annotations

import logging
import os
import sqlite3
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from shared.sqlcompat import is_sqlite

try:
    import fcntl
except ImportError:  # pragma: no cover - not POSIX: the mutex alone, SQLite does the rest
    fcntl = None  # type: ignore[assignment]


class WriterGate:
    """``with gate.hold(): ...`` runs the block while holding the service-wide writer lock."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._mutex = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._pid = -1

    def _file(self) -> int:
        if self._fd is None or self._pid != os.getpid():
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self._fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
            self._pid = os.getpid()
        return self._fd

    @contextmanager
    def hold(self) -> Iterator[None]:
        with self._mutex:
            self._depth += 1
            locked = False
            try:
                if self._depth == 1 and fcntl is not None:
                    fd = self._file()
                    fcntl.flock(fd, fcntl.LOCK_EX)
                    locked = True
                yield
            finally:
                self._depth -= 1
                if locked:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)  # type: ignore[arg-type]


class Checkpoints:
    """Run WAL checkpoints after units of work, outside the gate (``every`` = 0: none of
    this service's own; the market owner's and SQLite's backstop remain)."""

    def __init__(self, every: int) -> None:
        self.every = every
        self._count = 0
        self._mutex = threading.Lock()

    def after_commit(self, conn: sqlite3.Connection) -> bool:
        """Count a unit of work; checkpoint (PASSIVE) on every ``every``-th; True if it ran."""
        if not self.every or not is_sqlite(conn):  # PostgreSQL checkpoints on its own
            return False
        with self._mutex:
            self._count += 1
            if self._count < self.every:
                return False
            self._count = 0
        try:
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
        except sqlite3.OperationalError as exc:  # e.g. another process is checkpointing
            logging.getLogger("database_operations").info(
                "paper_trading checkpoint skipped", extra={"error": str(exc)})
            return False
        return True


__all__ = ["Checkpoints", "WriterGate"]
