"""Wake a process when another one commits: PostgreSQL's LISTEN/NOTIFY, SQLite's poll.

A writer calls ``notify(conn, CHANNEL, payload)`` inside its write transaction: on PostgreSQL
the notification is queued with the transaction and delivered to every listener only when it
commits (a rollback drops it; identical notifications of one transaction arrive once).  On
SQLite ``notify`` does nothing: there is no server to carry it, and readers keep polling.

A reader holds a ``Waiter`` on the channels it follows and calls ``wait(timeout)`` between
its reads.  On PostgreSQL the waiter keeps a dedicated connection (not one of the pool's: a
session that LISTENs must stay the same) and blocks in psycopg's ``notifies()`` until a
notification arrives or ``timeout`` passes, so the reader wakes at once after a commit
instead of at its next poll, and polls rarely while nothing happens.  On SQLite ``wait``
sleeps the reader's polling interval, exactly as before.

Notifications only say *that* something committed: a reader always reads the rows itself
(a notification may be collapsed, or missed while the listening connection was being
re-established, so the timeout stays as a backstop).
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterable
from typing import Any

log = logging.getLogger("database_operations")

# -- the channels: one per kind of write a reader waits for ---------------------------------
#: paper trading's books: pt_orders, pt_fills, pt_order_events, trade_events, pt_market_run
TRADING = "suite_trading"
#: the market owner's progress row (market_feed.through_ts): new bars are stored
MARKET_FEED = "suite_market_feed"
#: the market clock's row (pause, resume, speed, a step, a new market run)
MARKET_CLOCK = "suite_market_clock"
#: a news story stored (or merged)
NEWS = "suite_news"
CHANNELS = frozenset({TRADING, MARKET_FEED, MARKET_CLOCK, NEWS})
#: what ``Waiter.wait`` returns after (re)connecting: nothing can be known about the gap
RECONNECTED = "reconnected"
#: PostgreSQL refuses payloads of 8000 bytes or more
MAX_PAYLOAD = 7999
#: longest single block in ``notifies()``: how soon ``wait`` sees its ``stop`` event
_SLICE_S = 0.25


def is_postgres(obj: Any) -> bool:
    """Return whether ``obj`` (a connection or a ``Database``) speaks to PostgreSQL."""
    return getattr(obj, "dialect", None) == "postgresql"


def _check(channel: str) -> None:
    if channel not in CHANNELS:
        raise ValueError(f"unknown notification channel {channel!r}; use one of "
                         f"{sorted(CHANNELS)} (shared.db.notify)")


def notify(conn: Any, channel: str, payload: str = "") -> None:
    """Queue a notification on ``channel`` in ``conn``'s open transaction.

    PostgreSQL delivers it when the transaction commits and never if it rolls back; in a
    transaction a failed statement already aborted, nothing is sent (it can only roll back).
    On SQLite this does nothing (readers there poll).

    Raises:
        ValueError: ``channel`` is not one of ``CHANNELS`` or ``payload`` is too long.
    """
    _check(channel)
    if len(payload.encode()) > MAX_PAYLOAD:
        raise ValueError(f"notification payload was {len(payload.encode())} bytes; "
                         f"PostgreSQL takes at most {MAX_PAYLOAD}")
    if is_postgres(conn):
        from psycopg.pq import TransactionStatus

        raw = getattr(conn, "raw", None)
        if raw is not None and raw.info.transaction_status == TransactionStatus.INERROR:
            return  # an aborted transaction: it rolls back, and a statement here would fail
        conn.execute("SELECT pg_notify(?, ?)", (channel, payload))


class Waiter:
    """Block until one of ``channels`` is notified or a timeout passes.

    ``url`` is the PostgreSQL URL (``None``: SQLite, where ``wait`` sleeps ``poll_s``).  Call
    ``start()`` before the first read the notifications should follow: a commit after it
    wakes the next ``wait`` even if it came while the reader was busy (the server queues
    notifications for a listening session).
    """

    def __init__(self, url: str | None, channels: Iterable[str], *, poll_s: float) -> None:
        self.channels = tuple(sorted(set(channels)))
        for ch in self.channels:
            _check(ch)
        if not self.channels:
            raise ValueError("a Waiter needs at least one channel")
        self.url = url
        self.poll_s = poll_s
        self._conn: Any = None
        self._lock = threading.Lock()
        self.stats = {"notifications": 0, "woken": 0, "timeouts": 0, "reconnects": 0,
                      "errors": 0}
        self.last_error: str | None = None

    @classmethod
    def for_database(cls, db: Any, channels: Iterable[str], *, poll_s: float) -> Waiter:
        """Return a waiter on ``db``'s engine (a ``Database`` or ``PgDatabase``)."""
        return cls(db.url if is_postgres(db) else None, channels, poll_s=poll_s)

    @property
    def listening(self) -> bool:
        """Whether notifications wake this waiter (PostgreSQL, connected)."""
        conn = self._conn
        return conn is not None and not conn.closed

    def start(self) -> None:
        """Connect and LISTEN (PostgreSQL; nothing on SQLite).

        Raises:
            psycopg.OperationalError: PostgreSQL cannot be reached.
        """
        if self.url is None or self.listening:
            return
        import psycopg  # only where PostgreSQL is used

        conn = psycopg.connect(self.url, autocommit=True, connect_timeout=10)
        for ch in self.channels:
            conn.execute(f'LISTEN "{ch}"')  # channel names are CHANNELS' constants
        self._conn = conn

    def wait(self, timeout: float, stop: threading.Event | None = None) -> frozenset[str]:
        """Return the channels notified within ``timeout`` seconds (empty: none came).

        On SQLite: sleep ``min(timeout, poll_s)`` and return empty.  On PostgreSQL: return
        as soon as a notification arrives (with every other one already there), or
        ``RECONNECTED`` right after the listening connection was re-established (a commit
        in the gap went unseen: read now).  ``stop`` set ends the wait early.
        """
        if self.url is None:
            if stop is not None:
                stop.wait(min(timeout, self.poll_s))
            else:
                time.sleep(min(timeout, self.poll_s))
            return frozenset()
        with self._lock:
            return self._wait_pg(timeout, stop)

    def _wait_pg(self, timeout: float, stop: threading.Event | None) -> frozenset[str]:
        import psycopg

        if not self.listening:
            try:
                self.start()
            except psycopg.Error as exc:
                self._failed(exc)
                self._pause(timeout, stop)
                return frozenset()
            self.stats["reconnects"] += 1
            return frozenset({RECONNECTED})
        deadline = time.monotonic() + timeout
        got: set[str] = set()
        try:
            while True:
                left = deadline - time.monotonic()
                if left <= 0 or (stop is not None and stop.is_set()):
                    break
                for n in self._conn.notifies(timeout=min(left, _SLICE_S), stop_after=1):
                    got.add(n.channel)
                if got:  # take what else is already there without blocking
                    for n in self._conn.notifies(timeout=0):
                        got.add(n.channel)
                    break
        except psycopg.Error as exc:
            self._failed(exc)
            self._close()
            return frozenset({RECONNECTED})  # whatever was pending is lost: read now
        self.stats["notifications"] += len(got)
        self.stats["woken" if got else "timeouts"] += 1
        return frozenset(got)

    def _failed(self, exc: BaseException) -> None:
        self.stats["errors"] += 1
        self.last_error = f"{type(exc).__name__}: {exc}"[:300]
        log.warning("notification listener failed", extra={"error": self.last_error})

    def _pause(self, timeout: float, stop: threading.Event | None) -> None:
        wait = min(timeout, max(self.poll_s, 0.5))
        if stop is not None:
            stop.wait(wait)
        else:
            time.sleep(wait)

    def _close(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            try:
                conn.close()
            except Exception:  # noqa: BLE001 - a broken connection may fail to close
                pass

    def close(self) -> None:
        """Stop listening (after a ``wait`` in progress returns: set its ``stop`` first)."""
        with self._lock:
            self._close()

    def snapshot(self) -> dict[str, Any]:
        """Return how this waiter waits and its counters (for /health)."""
        return {"mode": "listen" if self.url is not None else "poll",
                "listening": self.listening, "channels": list(self.channels),
                **self.stats, "last_error": self.last_error}


__all__ = ["CHANNELS", "MARKET_CLOCK", "MARKET_FEED", "NEWS", "RECONNECTED", "TRADING",
           "Waiter", "is_postgres", "notify"]
