"""The SIGKILL chaos run of tests/reliability/test_chaos.py with the suite on PostgreSQL.

The same body (``_chaos_run``) and the same assertions: ``hybrid_manager.py start --detach``
with ``DATABASE_URL`` naming a fresh migrated database of the throw-away cluster (fixture
``pg_cluster``, tests/pg.py); paper trading's gunicorn master SIGKILLed under concurrent
order load (then technical analysis's); every 2xx order stored exactly once, resubmitting
every client_order_id returns the same order, amcheck finds the heap and every B-tree index
sound, and the books recomputed straight from PostgreSQL (tests/reliability/ledger.py) are
exact to the cent.  A SIGKILLed worker may die holding the suite's write lock (an advisory
lock, shared/db/dialect.py): PostgreSQL ends its session and frees the lock.  The chaos run
meets that by chance; ``test_a_writer_sigkilled_holding_the_write_lock_frees_it_and_leaves_nothing``
makes it certain (a process killed inside its write transaction while another writer waits:
the waiter commits at once, the killed write is gone).

The load is smaller than SQLite's (see ``PG_LOAD``) to keep this module near 30 s.
"""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from decimal import Decimal

import pytest

from shared.config import ROOT
from shared.db.dialect import WRITE_LOCK_KEY
from shared.db.postgres import PgDatabase
from tests.pg import PgCluster
from tests.reliability.ledger import Market
from tests.reliability.suite import Suite
from tests.reliability.test_chaos import Load, _chaos_run, chaos_suite

pytestmark = [pytest.mark.e2e, pytest.mark.slow]

#: 160 submissions (SQLite: 240) from 8 threads, a clock minute every 24: six minutes of
#: fills during the load, one swept before paper trading's SIGKILL (at submission 40) and
#: five after it; every kind of order 20 times; the floors scaled with it (measured: 124
#: fills, 60 closing, 110 during the load).  The load asks for a third less buying power, so
#: the account starts with 26,000 (SQLite's: 30,000): buys still run out of cash until sells
#: fill (403 insufficient buying power), and equity stays over the PDT threshold (25,000).
PG_LOAD = Load(orders=160, threads=8, step_every=24, min_fills=55, min_closing=20,
               min_fills_during=28, min_fills_after_restart=14, min_open=2,
               starting_cash=Decimal(26000))

#: the simulated market's size (SQLite's module: 60): the feed that coordination runs stores
#: every symbol's history at the start, which is most of the start's work
UNIVERSE = "25"


@pytest.fixture(scope="module")
def pg_suite(tmp_path_factory: pytest.TempPathFactory, pg_cluster: PgCluster) -> Iterator[Suite]:
    """The suite as test_chaos.py starts it, every service on one fresh PostgreSQL database."""
    yield from chaos_suite(tmp_path_factory.mktemp("chaos_pg"), UNIVERSE, PG_LOAD,
                           " on PostgreSQL", DATABASE_URL=pg_cluster.create_database())


def test_orders_survive_sigkill_exactly_once_with_ledger_invariants_on_postgresql(pg_suite):
    s = pg_suite
    assert str(s.database).startswith("postgresql://")
    assert not s.db_path.exists()  # nothing went to a SQLite file
    market = Market(s)
    try:
        assert market.db.dialect == "postgresql"  # the test's own bars go there too
        _chaos_run(s, market, PG_LOAD)
    finally:
        market.close()


#: a process that takes the suite's write lock (``BEGIN IMMEDIATE`` through ``PgDatabase``),
#: writes a row and then waits, never committing
_HOLDER = """
import sys, time
from shared.db.postgres import PgDatabase
db = PgDatabase(sys.argv[1])
conn = db.transaction("held").__enter__()
conn.execute("INSERT INTO coord_lease (name, holder, expires_at) VALUES (?, ?, ?)",
             ("sigkill-probe", "killed", 0))
print("holding", flush=True)
time.sleep(300)
"""


def _write_lock_holders(url: str) -> list[int]:
    import psycopg

    with psycopg.connect(url, autocommit=True) as pg:
        return [r[0] for r in pg.execute(
            "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
            "AND objid = %s AND database = (SELECT oid FROM pg_database "
            "WHERE datname = current_database())", (WRITE_LOCK_KEY & 0xFFFFFFFF,))]


def test_a_writer_sigkilled_holding_the_write_lock_frees_it_and_leaves_nothing(pg_url):
    """What the chaos run meets by chance, made certain: the killed process holds the write
    lock mid-transaction while another writer waits for it."""
    holder = subprocess.Popen([sys.executable, "-c", _HOLDER, pg_url], cwd=ROOT,
                              stdout=subprocess.PIPE, text=True)
    db = PgDatabase(pg_url)
    try:
        assert holder.stdout is not None and holder.stdout.readline().strip() == "holding"
        assert len(_write_lock_holders(pg_url)) == 1  # its backend holds the lock

        done: dict[str, float] = {}

        def write() -> None:  # waits on the lock (lock_timeout: database.busy_timeout_ms)
            with db.transaction("survivor") as conn:
                conn.execute("INSERT INTO coord_lease (name, holder, expires_at) VALUES (?, ?, ?)",
                             ("sigkill-probe", "survivor", 0))
            done["at"] = time.monotonic()

        waiter = threading.Thread(target=write)
        waiter.start()
        time.sleep(1.0)
        assert "at" not in done  # blocked behind the holder
        killed_at = time.monotonic()
        os.kill(holder.pid, signal.SIGKILL)
        holder.wait(10)
        waiter.join(20)
        assert not waiter.is_alive() and "at" in done, "the write lock outlived its holder"
        print(f"\nwrite lock free {done['at'] - killed_at:.2f}s after the holder's SIGKILL "
              f"(retries {db.stats.snapshot()['retries']})")
        rows = db.fetch_all("SELECT holder FROM coord_lease WHERE name = ?", ("sigkill-probe",))
        assert [r["holder"] for r in rows] == ["survivor"]  # the killed write was rolled back
        assert _write_lock_holders(pg_url) == []
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(10)
        if holder.stdout is not None:
            holder.stdout.close()
        db.close()
