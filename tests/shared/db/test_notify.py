"""LISTEN/NOTIFY between processes on the throw-away PostgreSQL cluster, and SQLite's poll.

A notification queued in a transaction that rolls back never arrives; one that commits wakes a
waiter in another process within ~100 ms; a dropped listening session is re-established and
says so; on SQLite ``notify`` writes nothing and ``wait`` sleeps the polling interval.
"""
from __future__ import annotations

import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.db import Database
from shared.db.notify import MARKET_FEED, NEWS, RECONNECTED, TRADING, Waiter, notify
from shared.db.postgres import PgDatabase

pytestmark = pytest.mark.timeout(60)
ROOT = Path(__file__).resolve().parents[3]

# a waiter in its own process: prints READY once listening, then the monotonic time it woke
# (CLOCK_MONOTONIC is one clock for every process of the machine) and the channels
_CHILD = """
import sys, time
from shared.db.notify import Waiter
w = Waiter(sys.argv[1], [sys.argv[2]], poll_s=0.01)
w.start()
print("READY", flush=True)
got = w.wait(float(sys.argv[3]))
print(time.monotonic(), ",".join(sorted(got)), flush=True)
"""


@pytest.fixture(scope="module")
def pg(pg_url: str) -> Iterator[PgDatabase]:
    database = PgDatabase(pg_url)
    yield database
    database.close()


@pytest.fixture
def waiter(pg: PgDatabase) -> Iterator[Waiter]:
    w = Waiter.for_database(pg, [TRADING, NEWS], poll_s=0.01)
    w.start()
    yield w
    w.close()


def _child(url: str, channel: str, timeout: float) -> subprocess.Popen[str]:
    proc = subprocess.Popen([sys.executable, "-c", _CHILD, url, channel, str(timeout)],
                            cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None
    assert proc.stdout.readline().strip() == "READY", proc.stderr.read() if proc.stderr else ""
    return proc


def test_a_rolled_back_notification_is_never_delivered(pg: PgDatabase, waiter: Waiter) -> None:
    class Boom(Exception):
        pass

    with pytest.raises(Boom), pg.transaction("test") as conn:
        notify(conn, TRADING, "rolled back")
        raise Boom
    assert waiter.wait(0.3) == frozenset()
    # the same path committing is delivered (the waiter was listening all along)
    with pg.transaction("test") as conn:
        notify(conn, TRADING, "committed")
    assert waiter.wait(2.0) == {TRADING}
    assert waiter.stats["notifications"] == 1 and waiter.stats["timeouts"] == 1


def test_an_aborted_transaction_notifies_nothing_and_raises_nothing(pg: PgDatabase,
                                                                    waiter: Waiter) -> None:
    conn = pg.get_db_connection()
    conn.execute("BEGIN")
    with pytest.raises(Exception, match="division by zero"):
        conn.execute("SELECT 1 / 0")
    notify(conn, TRADING, "aborted")  # the unit of work's exit path: no second error
    conn.execute("ROLLBACK")
    assert waiter.wait(0.3) == frozenset()


def test_a_commit_wakes_a_waiter_in_another_process_within_100_ms(pg: PgDatabase) -> None:
    proc = _child(pg.url, TRADING, 10.0)
    try:
        time.sleep(0.05)
        with pg.transaction("test") as conn:
            notify(conn, TRADING, "fill")
            time.sleep(0.2)  # not before the commit: the waiter must still be asleep here
            assert proc.poll() is None
        committed = time.monotonic()
        out, err = proc.communicate(timeout=10)
    finally:
        proc.kill()
    woke, channels = out.split()
    assert channels == TRADING, err
    latency = float(woke) - committed
    assert latency < 0.1, f"woken {latency * 1000:.1f} ms after the commit"


def test_an_other_channel_does_not_wake_and_the_timeout_holds(pg: PgDatabase) -> None:
    proc = _child(pg.url, TRADING, 0.5)
    try:
        t0 = time.monotonic()
        with pg.transaction("test") as conn:
            notify(conn, MARKET_FEED, "2024-01-02T15:00:00+00:00")
        out, _ = proc.communicate(timeout=10)
    finally:
        proc.kill()
    woke, *channels = out.split()
    assert channels == [] and float(woke) - t0 >= 0.45


def test_notifications_wait_for_a_busy_reader_and_arrive_together(pg: PgDatabase,
                                                                  waiter: Waiter) -> None:
    # committed while the reader was not waiting: the next wait returns at once with both
    with pg.transaction("test") as conn:
        notify(conn, TRADING, "a")
        notify(conn, TRADING, "a")  # the same one twice in a transaction: delivered once
    with pg.transaction("test") as conn:
        notify(conn, NEWS, "1")
    time.sleep(0.1)
    t0 = time.monotonic()
    assert waiter.wait(2.0) == {TRADING, NEWS}
    assert time.monotonic() - t0 < 0.05
    assert waiter.wait(0.1) == frozenset()


def test_a_dropped_listener_reconnects_and_says_so(pg: PgDatabase, waiter: Waiter) -> None:
    pid = waiter._conn.info.backend_pid
    pg.execute_with_retry("SELECT pg_terminate_backend(?)", (pid,))
    assert waiter.wait(2.0) == {RECONNECTED}       # the broken session, noticed
    assert waiter.wait(2.0) == {RECONNECTED}       # listening again: read what was missed
    assert waiter.listening and waiter.stats["reconnects"] == 1
    assert waiter._conn.info.backend_pid != pid
    with pg.transaction("test") as conn:
        notify(conn, NEWS)
    assert waiter.wait(2.0) == {NEWS}


def test_stop_ends_a_wait_early(waiter: Waiter) -> None:
    stop = threading.Event()
    threading.Timer(0.1, stop.set).start()
    t0 = time.monotonic()
    assert waiter.wait(5.0, stop) == frozenset()
    assert time.monotonic() - t0 < 0.6


def test_on_sqlite_notify_writes_nothing_and_wait_sleeps_the_poll(db: Database) -> None:
    with db.transaction("test") as conn:
        before = conn.total_changes
        notify(conn, TRADING, "x")
        assert conn.total_changes == before
    w = Waiter.for_database(db, [TRADING], poll_s=0.05)
    w.start()
    assert not w.listening and w.snapshot()["mode"] == "poll"
    t0 = time.monotonic()
    assert w.wait(10.0) == frozenset()
    assert 0.04 <= time.monotonic() - t0 < 0.5  # the polling interval, not the timeout


def test_unknown_channels_and_long_payloads_are_refused(db: Database) -> None:
    with pytest.raises(ValueError, match="unknown notification channel 'trades'"):
        Waiter(None, ["trades"], poll_s=0.1)
    with db.transaction("test") as conn:
        with pytest.raises(ValueError, match="unknown notification channel"):
            notify(conn, "suite_orders")
        with pytest.raises(ValueError, match="payload was 8000 bytes"):
            notify(conn, TRADING, "x" * 8000)
