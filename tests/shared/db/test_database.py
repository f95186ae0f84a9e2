"""The shared database layer against real engines: a SQLite file and the throw-away
PostgreSQL cluster (tests/pg.py): concurrency, retries, rollback, stats, migrations.

The engine-generic tests take ``engine`` (``sqlite`` or ``postgresql``) and open databases
with ``open_db(spec)``: on PostgreSQL every test gets a schema of its own in one database of
this module (``search_path`` in the URL), which is much faster than a database per test.
"""
from __future__ import annotations

import itertools
import logging
import multiprocessing as mp
import sqlite3
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psycopg
import pytest

from shared.db import Database, DatabaseServiceMixin, UnitOfWork, applied_migrations, migrate
from shared.db.dialect import DatabaseError, IntegrityError
from shared.db.postgres import PgDatabase
from shared.errors import DatabaseBusyError, OperationalError, ValidationError
from shared.logging import configure_logging
from tests.conftest import make_settings
from tests.pg import PgCluster

DDL = "CREATE TABLE IF NOT EXISTS t (id INTEGER PRIMARY KEY, k TEXT UNIQUE NOT NULL, v INTEGER)"
_schemas = itertools.count(1)


def open_db(spec: str, **kwargs: Any) -> Database:
    """Return a ``Database`` on ``spec``: a SQLite path or a ``postgresql://`` URL."""
    if spec.startswith("postgresql://"):
        return PgDatabase(spec, **kwargs)
    return Database(spec, **kwargs)


@pytest.fixture(scope="module")
def pg_module_url(pg_cluster: PgCluster) -> str:
    return pg_cluster.create_database(migrated=False)


@pytest.fixture(params=["sqlite", "postgresql"])
def engine(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def spec(engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh, empty database of ``engine``: a file, or a schema of its own."""
    if engine == "sqlite":
        yield str(tmp_path / "t.db")
        return
    base = request.getfixturevalue("pg_module_url")
    schema = f"t{next(_schemas)}"
    with psycopg.connect(base, autocommit=True) as conn:
        conn.execute(f"CREATE SCHEMA {schema}")
    yield f"{base}?options=-csearch_path%3D{schema}"


@pytest.fixture
def gdb(spec: str) -> Iterator[Database]:
    """An empty database of either engine (``db`` is the migrated SQLite one)."""
    database = open_db(spec)
    yield database
    database.close()


def test_every_connection_sets_the_pragmas(db: Database) -> None:
    conn = db.get_db_connection()
    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA synchronous").fetchone()[0] == 1  # NORMAL
    assert conn.execute("PRAGMA cache_size").fetchone()[0] == -db.cache_size_kib  # database.cache_size_kib (8,000 by default)
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] == 30000
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    # SQLite checkpoints inside a commit only as a backstop (database.wal_autocheckpoint_pages)
    assert conn.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 20_000
    # Another thread gets its own connection with the same pragmas.
    seen = {}

    def other() -> None:
        c = db.get_db_connection()
        seen["same"] = c is conn
        seen["fk"] = c.execute("PRAGMA foreign_keys").fetchone()[0]
        seen["bt"] = c.execute("PRAGMA busy_timeout").fetchone()[0]

    t = threading.Thread(target=other)
    t.start()
    t.join()
    assert seen == {"same": False, "fk": 1, "bt": 30000}
    assert db.get_db_connection() is conn  # reused per thread


def test_commits_leave_the_wal_to_the_checkpoint(tmp_path: Path) -> None:
    """Below the backstop no commit checkpoints (SQLite's default 1000 pages would, inside
    the commit); ``checkpoint()`` then copies every frame back, without a writer waiting."""
    db = Database(tmp_path / "c.db", wal_autocheckpoint_pages=5000)
    db.execute_with_retry("CREATE TABLE big (k INTEGER PRIMARY KEY, v BLOB)")
    for part in range(3):  # ~1,500 pages of WAL in three commits
        with db.transaction("fill") as conn:
            conn.executemany("INSERT INTO big VALUES (?, zeroblob(2000))",
                             [(part * 1000 + i,) for i in range(1000)])
    busy, frames, copied = db.checkpoint()
    assert busy == 0 and frames > 1000 and copied == frames  # none had been checkpointed
    assert db.checkpoint()[2] == frames  # nothing new: the same frames, already copied
    with db.transaction("more") as conn:  # a writer goes on after it (WAL restarts)
        conn.execute("INSERT INTO big VALUES (-1, zeroblob(10))")
    assert db.fetch_one("SELECT COUNT(*) FROM big")[0] == 3001
    db.close()
    small = Database(tmp_path / "d.db")  # constructed by hand: SQLite's own default
    assert small.get_db_connection().execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 1000
    small.close()


def test_checkpoint_is_none_on_postgresql(pg_module_url: str) -> None:
    db = PgDatabase(pg_module_url)
    try:
        assert db.checkpoint() is None
    finally:
        db.close()


def _writer(path: str, worker: int, n: int, out: mp.Queue) -> None:
    class Svc(DatabaseServiceMixin):
        pass

    svc = Svc()
    svc.init_database(open_db(path, retry_attempts=50, retry_initial_s=0.001, retry_max_s=0.05))
    errors = 0
    for i in range(n):
        try:
            with svc.transaction() as conn:
                # read-then-write: the pattern that fails under deferred transactions
                conn.execute("SELECT COUNT(*) FROM t").fetchone()
                conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (f"{worker}-{i}", i))
        except Exception:  # noqa: BLE001 - counted and asserted on below
            errors += 1
    out.put((worker, errors, svc.db.stats.snapshot()["retries"]))
    svc.db.close()


def test_eight_processes_write_every_row_without_an_error(spec: str, engine: str) -> None:
    # PostgreSQL: fewer rows (each transaction is four round trips to a server process on the
    # same two cores); the same contention, eight writers on one lock
    n = 500 if engine == "sqlite" else 150
    path = spec
    db = open_db(path)
    db.execute_with_retry(DDL)
    ctx = mp.get_context("fork")
    q: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_writer, args=(path, w, n, q)) for w in range(8)]
    for p in procs:
        p.start()
    results = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert sum(e for _, e, _ in results) == 0
    assert db.fetch_one("SELECT COUNT(*) FROM t")[0] == 8 * n
    assert db.fetch_one("SELECT COUNT(DISTINCT k) FROM t")[0] == 8 * n
    assert db.fetch_one("PRAGMA integrity_check")[0] == "ok"
    db.close()


def test_a_writer_blocked_past_the_busy_timeout_is_retried_then_succeeds(
        tmp_path: Path, spec: str) -> None:
    settings = make_settings(tmp_path)
    configure_logging("dbtest", settings)
    path = spec
    holder = open_db(path)
    holder.execute_with_retry(DDL)
    db = open_db(path, busy_timeout_ms=20, retry_attempts=30, retry_initial_s=0.02, retry_max_s=0.1)
    lock = holder.get_db_connection()
    lock.execute("BEGIN IMMEDIATE")
    release = threading.Timer(0.3, lambda: lock.execute("COMMIT"))
    release.start()
    try:
        assert db.execute_with_retry("INSERT INTO t (k, v) VALUES ('x', 1)") == 1
    finally:
        release.join()
    assert db.stats.snapshot()["retries"] >= 1
    assert db.fetch_one("SELECT v FROM t WHERE k='x'")[0] == 1
    for h in logging.getLogger("database_operations").handlers:
        h.flush()
    log = (settings.log_dir / "database_operations.log").read_text()
    assert "sqlite lock, retrying" in log
    holder.close()
    db.close()


def test_a_lock_held_past_every_retry_raises_a_clear_busy_error(spec: str) -> None:
    path = spec
    holder = open_db(path)
    holder.execute_with_retry(DDL)
    db = open_db(path, busy_timeout_ms=5, retry_attempts=3, retry_initial_s=0.005, retry_max_s=0.01)
    lock = holder.get_db_connection()
    lock.execute("BEGIN IMMEDIATE")
    try:
        with pytest.raises(DatabaseBusyError) as err:
            db.execute_with_retry("INSERT INTO t (k, v) VALUES ('y', 1)")
        assert err.value.retryable and err.value.http_status == 503
    finally:
        lock.execute("ROLLBACK")
        holder.close()
        db.close()


def test_rollback_inside_the_unit_of_work_leaves_no_partial_rows(gdb: Database) -> None:
    db = gdb
    db.execute_with_retry(DDL)
    with pytest.raises(IntegrityError):
        with UnitOfWork(db) as uow:
            uow.execute("INSERT INTO t (k, v) VALUES ('a', 1)")
            uow.execute("INSERT INTO t (k, v) VALUES ('b', 2)")
            uow.execute("INSERT INTO t (k, v) VALUES ('a', 3)")  # duplicate key
            uow.commit()
    assert db.fetch_one("SELECT COUNT(*) FROM t")[0] == 0
    with UnitOfWork(db) as uow:  # no commit() -> rolled back
        uow.execute("INSERT INTO t (k, v) VALUES ('c', 1)")
    assert db.fetch_one("SELECT COUNT(*) FROM t")[0] == 0
    with UnitOfWork(db) as uow:
        uow.execute("INSERT INTO t (k, v) VALUES ('d', 1)")
        uow.commit()
    assert db.fetch_one("SELECT COUNT(*) FROM t")[0] == 1
    assert not db.get_db_connection().in_transaction


def test_nested_transactions_roll_back_only_the_inner_block(gdb: Database) -> None:
    db = gdb
    db.execute_with_retry(DDL)
    with db.transaction() as conn:
        conn.execute("INSERT INTO t (k, v) VALUES ('outer', 1)")
        with pytest.raises(RuntimeError):
            with db.transaction() as inner:
                inner.execute("INSERT INTO t (k, v) VALUES ('inner', 1)")
                raise RuntimeError("boom")
    assert [r[0] for r in db.fetch_all("SELECT k FROM t")] == ["outer"]


def test_bulk_insert_is_one_transaction_and_checks_identifiers(gdb: Database) -> None:
    db = gdb
    db.execute_with_retry(DDL)
    rows = [{"k": f"k{i}", "v": i} for i in range(1000)]
    assert db.bulk_insert_with_transaction("t", rows) == 1000
    before = db.stats.snapshot()["transactions"]
    with pytest.raises(IntegrityError):  # one duplicate fails the whole batch
        db.bulk_insert_with_transaction("t", [("new1", 1), ("k5", 2)], columns=["k", "v"])
    assert db.fetch_one("SELECT COUNT(*) FROM t")[0] == 1000
    assert db.stats.snapshot()["transactions"] == before + 1
    assert db.bulk_insert_with_transaction("t", [("k5", 2)], ["k", "v"], on_conflict="ignore") == 0
    db.bulk_insert_with_transaction("t", [("k5", 9)], ["k", "v"],
                                    on_conflict="(k) DO UPDATE SET v=excluded.v")
    assert db.fetch_one("SELECT v FROM t WHERE k='k5'")[0] == 9
    # replace: the row with that primary key takes the new values (PostgreSQL: an upsert on
    # the primary key, which is what the suite's replaces mean)
    k5 = db.fetch_one("SELECT id FROM t WHERE k='k5'")[0]
    assert db.bulk_insert_with_transaction("t", [(k5, "k5", 10)], ["id", "k", "v"],
                                           on_conflict="replace") == 1
    assert db.fetch_one("SELECT v FROM t WHERE k='k5'")[0] == 10
    with pytest.raises(ValidationError):
        db.bulk_insert_with_transaction("t; DROP TABLE t", [("a", 1)], ["k", "v"])
    with pytest.raises(ValidationError):
        db.bulk_insert_with_transaction("t", [("a", 1)], ["k) VALUES (1); --", "v"])


def test_stats_count_queries_and_log_slow_ones(spec: str) -> None:
    db = open_db(spec, slow_query_ms=0.0001)
    db.execute_with_retry(DDL)
    db.fetch_all("SELECT * FROM t")
    with pytest.raises(DatabaseError):
        db.fetch_all("SELECT nope FROM t")
    stats = db.get_database_stats()
    q = stats["queries"]
    assert q["queries"] >= 3 and q["failures"] == 1
    assert 0 < q["success_rate"] < 1
    assert q["slow_queries"], "every query is over a 0.1 µs threshold"
    assert stats["tables"] == {"t": 0}
    assert stats["file_bytes"] > 0 and stats["pool"]["open_connections"] == 1
    db.close()


def test_migrations_apply_once_and_refuse_edited_files(tmp_path: Path, spec: str) -> None:
    mig = tmp_path / "m"
    mig.mkdir()
    (mig / "0001_a.sql").write_text("CREATE TABLE a (x INTEGER);\n-- trailing comment\n")
    (mig / "0002_b.sql").write_text("CREATE TABLE b (y TEXT);\nINSERT INTO b VALUES ('a;b');\n")
    db = open_db(spec)
    assert migrate(db, mig) == ["0001_a.sql", "0002_b.sql"]
    assert migrate(db, mig) == []
    assert applied_migrations(db) == {1: "a", 2: "b"}
    assert db.fetch_one("SELECT y FROM b")[0] == "a;b"
    (mig / "0002_b.sql").write_text("CREATE TABLE b (y TEXT, z TEXT);\n")
    with pytest.raises(OperationalError, match="changed after it was applied"):
        migrate(db, mig)
    (mig / "0003_bad.sql").write_text("CREATE TABLE c (x INTEGER);\nCREATE TABLE oops (\n")
    (mig / "0002_b.sql").write_text("CREATE TABLE b (y TEXT);\nINSERT INTO b VALUES ('a;b');\n")
    with pytest.raises(OperationalError, match="incomplete"):
        migrate(db, mig)
    assert "c" not in db.table_names()
    db.close()


def test_the_real_migrations_build_the_schema(db: Database) -> None:
    names = {r[0] for r in db.fetch_all("SELECT name FROM sqlite_master WHERE type='table'")}
    assert {"schema_migrations", "service_registry", "service_events"} <= names
    # Money is never stored as floating point.
    for (table,) in db.fetch_all("SELECT name FROM sqlite_master WHERE type='table'"):
        for col in db.fetch_all(f'PRAGMA table_info("{table}")'):  # noqa: S608
            if col["name"].endswith("_micros"):
                assert col["type"].upper() == "INTEGER", (table, col["name"])


def test_concurrent_migrations_apply_each_file_once(spec: str) -> None:
    path = spec
    errors: list[BaseException] = []

    def run() -> None:
        mdb = open_db(path)
        try:
            migrate(mdb)
        except BaseException as exc:  # noqa: BLE001
            errors.append(exc)
        finally:
            mdb.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    db = open_db(path)
    counts = db.fetch_all("SELECT version, COUNT(*) FROM schema_migrations GROUP BY version")
    assert counts and all(c[1] == 1 for c in counts)
    db.close()


def test_read_only_file_gives_a_clear_error_and_recovers(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    Database(path).execute_with_retry(DDL)
    ro = Database(f"file:{path}?mode=ro")  # a read-only handle on the same data
    ro.path = path  # type: ignore[misc]
    conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, isolation_level=None)
    ro._local.conn = conn  # a connection the OS/file refuses writes on
    with pytest.raises(OperationalError, match="read-only"):
        with ro.transaction() as c:
            c.execute("INSERT INTO t (k, v) VALUES ('z', 1)")
    db = Database(path)
    assert db.execute_with_retry("INSERT INTO t (k, v) VALUES ('z', 1)") == 1
    assert db.fetch_one("PRAGMA integrity_check")[0] == "ok"
    time.sleep(0)
