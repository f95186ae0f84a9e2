"""Give memory back after a bulk read or backfill: SQLite's page cache and glibc's free heap;
bound SQLite's heap in the process that writes the market.

A first scan of the universe stores and reads ~500k bars in one request.  Afterwards the
connection's page cache keeps up to ``database.cache_size_kib`` of pages it will hardly read
again, and glibc keeps the freed generation and conversion temporaries on its heaps (it only
returns the top of a heap by itself), so a worker stayed ~150 MB above what it still used.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import logging
import sqlite3
from functools import cache
from typing import Any

from shared.sqlcompat import is_sqlite

log = logging.getLogger("market.data_manager")

#: Rows stored plus rows read in one batched read from which its memory is given back.
BULK_ROWS = 100_000


@cache
def _libc() -> Any:
    """Return glibc when this process runs on it (``malloc_trim`` is glibc's), else None."""
    name = ctypes.util.find_library("c")
    if not name:
        return None
    try:
        lib = ctypes.CDLL(name)
    except OSError:
        return None
    return lib if hasattr(lib, "malloc_trim") else None


def trim_heap() -> bool:
    """Return freed heap memory to the OS (glibc ``malloc_trim``); False where unavailable.

    Hand-written over ctypes: no maintained package wraps this one call, and the standard
    library has no binding for it.
    """
    lib = _libc()
    if lib is None:
        return False
    lib.malloc_trim(0)
    return True


def release_memory(conn: sqlite3.Connection | None) -> None:
    """Drop ``conn``'s unused page cache (``PRAGMA shrink_memory``), then trim the heap.

    Never raises: releasing memory is an optimisation, a failure is only logged.
    """
    try:
        if conn is not None and is_sqlite(conn):
            conn.execute("PRAGMA shrink_memory")
        trim_heap()
    except (sqlite3.Error, OSError) as exc:
        log.warning("memory release failed", extra={"error": str(exc)})


def limit_sqlite_heap(conn: sqlite3.Connection, limit: int) -> int | None:
    """Set SQLite's soft heap limit to ``limit`` bytes (0: none) and return the limit it
    replaced, or None when SQLite refused.

    The limit holds for the whole process, every connection's page cache together: past it
    SQLite recycles its least recently used clean pages instead of growing each connection's
    cache to ``cache_size`` (readers then re-read pages from the OS's file cache).
    A connection to another engine (PostgreSQL: its caches are the server's) is left alone.
    """
    if not is_sqlite(conn):
        return None
    try:
        before = int(conn.execute("PRAGMA soft_heap_limit").fetchone()[0])
        conn.execute(f"PRAGMA soft_heap_limit={int(limit)}")
        return before
    except sqlite3.Error as exc:
        log.warning("sqlite heap limit not set", extra={"error": str(exc)})
        return None
