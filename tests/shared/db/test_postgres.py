"""The database layer on PostgreSQL beside SQLite: the migrated schemas match, the translated
triggers and generated columns compute what SQLite's do, readers cannot write the market
tables, an idempotent insert stays one row under concurrent processes, a dropped connection is
replaced, and the SQL translation leaves literals alone."""
from __future__ import annotations

import multiprocessing as mp
import socket
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from shared.config import load_settings
from shared.db import Database, get_database, is_lock_error, migrate
from shared.db.dialect import (
    DatabaseError,
    IntegrityError,
    UnsupportedSQL,
    ddl_to_pg,
    split_statements,
    to_pg,
)
from shared.db.ownership import MARKET_TABLES
from shared.db.postgres import PgDatabase, redact
from shared.errors import ConfigError, OperationalError
from tests.conftest import make_settings


@pytest.fixture(scope="module")
def pg(pg_url: str) -> Iterator[PgDatabase]:
    database = PgDatabase(pg_url)
    yield database
    database.close()


@pytest.fixture(params=["sqlite", "postgresql"])
def mdb(request: pytest.FixtureRequest) -> Database:
    """A database built by the real migrations, of either engine."""
    if request.param == "sqlite":
        return request.getfixturevalue("db")
    return request.getfixturevalue("pg")


def _columns(db: Database) -> dict[str, set[str]]:
    if db.dialect == "sqlite":
        return {t: {c["name"] for c in db.fetch_all(f'PRAGMA table_xinfo("{t}")')}  # noqa: S608
                for t in db.table_names()}
    out: dict[str, set[str]] = {}
    for r in db.fetch_all("SELECT table_name, column_name FROM information_schema.columns "
                          "WHERE table_schema = current_schema()"):
        out.setdefault(r["table_name"], set()).add(r["column_name"])
    return {t: out[t] for t in db.table_names()}


def test_the_migrations_build_the_same_tables_and_columns_on_both(db: Database,
                                                                   pg: PgDatabase) -> None:
    lite, post = _columns(db), _columns(pg)
    assert set(lite) == set(post)
    assert {t: c for t, c in lite.items() if post[t] != c} == {}
    assert len(lite) > 40 and "pt_orders" in lite
    # money is integer micro-units on both; identities go on past ids a migration inserted
    types = {(r[0], r[1]): r[2] for r in pg.fetch_all(
        "SELECT table_name, column_name, data_type FROM information_schema.columns "
        "WHERE table_schema = current_schema() AND column_name LIKE '%\\_micros'")}
    assert types and set(types.values()) == {"bigint"}
    versions = "SELECT version, name, checksum FROM schema_migrations ORDER BY version"
    assert [tuple(r) for r in pg.fetch_all(versions)] == [tuple(r) for r in db.fetch_all(versions)]
    views = {r[0] for r in pg.fetch_all("SELECT table_name FROM information_schema.views "
                                        "WHERE table_schema = current_schema()")}
    assert "pt_order_history" in views


_ORDER = ("INSERT INTO pt_orders (id, account, client_order_id, symbol, asset_id, side, type, "
          "time_in_force, order_class, qty_micros, status, active_from, expires_at, created_at, "
          "updated_at, submitted_at, reserve_micros) VALUES (:id, 1, :id, 'AAPL', 'a', 'buy', "
          "'limit', 'day', 'simple', 1000000, :status, :t, :exp, :t, :t, :t, :reserve)")


def test_the_book_trigger_and_generated_columns_agree_on_both(mdb: Database) -> None:
    before = mdb.fetch_one("SELECT version, reserved_micros FROM pt_book WHERE id = 1")
    t = "2024-03-04T14:31:00.250000+00:00"
    exp = "2024-03-04T21:00:00.000001+00:00"
    with mdb.transaction() as conn:
        conn.execute(_ORDER, {"id": f"o-{mdb.dialect}-1", "status": "new", "t": t,
                              "exp": exp, "reserve": 150_000_000})
        conn.execute(_ORDER, {"id": f"o-{mdb.dialect}-2", "status": "filled", "t": t,
                              "exp": None, "reserve": 70_000_000})
        conn.execute("UPDATE pt_orders SET status = 'canceled' WHERE id = ?",
                     (f"o-{mdb.dialect}-1",))
        conn.execute(_ORDER, {"id": f"o-{mdb.dialect}-3", "status": "accepted", "t": t,
                              "exp": exp, "reserve": 20_000_000})
    after = mdb.fetch_one("SELECT version, reserved_micros FROM pt_book WHERE id = 1")
    assert after["version"] == before["version"] + 4
    assert after["reserved_micros"] - before["reserved_micros"] == 20_000_000
    row = mdb.fetch_one("SELECT active_from_s, expires_s FROM pt_orders WHERE id = ?",
                        (f"o-{mdb.dialect}-3",))
    assert row[0] == 1709562660 and row["expires_s"] == 1709586001  # rounded up past .000001
    with mdb.transaction() as conn:
        conn.execute("DELETE FROM pt_orders WHERE id LIKE ?", (f"o-{mdb.dialect}-%",))
    assert mdb.fetch_one("SELECT reserved_micros FROM pt_book WHERE id = 1")[0] == \
        before["reserved_micros"]


def test_readers_cannot_write_the_market_tables_and_the_owner_can(tmp_path: Path,
                                                                  pg_url: str) -> None:
    settings = make_settings(tmp_path, database__url=pg_url)
    reader = Database.from_settings(settings)
    owner = Database.from_settings(settings)
    assert isinstance(reader, PgDatabase)
    try:
        reader.protect(MARKET_TABLES)
        owner.claim_ownership()
        row = ("ZZTEST", "equity", "t", "Tech", "X", "test", "2024-01-01T00:00:00+00:00")
        sql = ("INSERT INTO symbols (symbol, asset_class, name, sector, exchange, source, "
               "updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)")
        with pytest.raises(DatabaseError, match="not authorized: symbols is read-only"):
            reader.execute_with_retry(sql, row)
        assert reader.fetch_one("SELECT COUNT(*) FROM symbols WHERE symbol = 'ZZTEST'")[0] == 0
        # a reader still writes its own tables, and reads the market ones
        assert reader.execute_with_retry(
            "INSERT INTO suite_state (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?) "
            "ON CONFLICT (key) DO UPDATE SET value = excluded.value",
            ("p6", "1", "test", "2024-01-01T00:00:00+00:00")) == 1
        assert owner.execute_with_retry(sql, row) == 1
        assert reader.fetch_one("SELECT name FROM symbols WHERE symbol = 'ZZTEST'")[0] == "t"
        with pytest.raises(DatabaseError, match="not authorized"):
            reader.execute_with_retry("DELETE FROM symbols WHERE symbol = 'ZZTEST'")
        assert owner.execute_with_retry("DELETE FROM symbols WHERE symbol = 'ZZTEST'") == 1
    finally:
        reader.close()
        owner.close()


def _claim(url: str, worker: int, n: int, out: mp.Queue) -> None:
    db = PgDatabase(url, retry_attempts=50, retry_initial_s=0.001, retry_max_s=0.05)
    errors = 0
    for i in range(n):
        try:  # every worker submits the same n client ids: each must be stored once
            with db.transaction() as conn:
                conn.execute(
                    "INSERT INTO suite_state (key, value, updated_by, updated_at) "
                    "VALUES (?, ?, ?, ?) ON CONFLICT (key) DO NOTHING",
                    (f"idem-{i}", str(worker), f"w{worker}", "2024-01-01T00:00:00+00:00"))
        except Exception:  # noqa: BLE001 - counted and asserted on below
            errors += 1
    out.put(errors)
    db.close()


def test_an_idempotent_insert_from_four_processes_stores_each_key_once(pg: PgDatabase,
                                                                       pg_url: str) -> None:
    ctx = mp.get_context("fork")
    q: mp.Queue = ctx.Queue()
    procs = [ctx.Process(target=_claim, args=(pg_url, w, 200, q)) for w in range(4)]
    for p in procs:
        p.start()
    errors = [q.get(timeout=120) for _ in procs]
    for p in procs:
        p.join(timeout=30)
        assert p.exitcode == 0
    assert errors == [0, 0, 0, 0]
    rows = pg.fetch_all("SELECT key, value FROM suite_state WHERE key LIKE 'idem-%'")
    assert len(rows) == 200 and len({r["key"] for r in rows}) == 200


def test_a_dropped_connection_is_replaced_and_the_write_retried(pg: PgDatabase,
                                                                pg_url: str) -> None:
    conn = pg.get_db_connection()
    pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
    with psycopg.connect(pg_url, autocommit=True) as admin:
        admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
    reopens = pg.reopens
    # the first statement meets the closed socket, the retry runs on a fresh connection
    assert pg.execute_with_retry(
        "INSERT INTO suite_state (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)",
        ("dropped", "1", "t", "2024-01-01T00:00:00+00:00")) == 1
    assert pg.fetch_one("SELECT value FROM suite_state WHERE key = 'dropped'")[0] == "1"
    assert pg.reopens > reopens
    assert pg.get_db_connection().execute("SELECT pg_backend_pid()").fetchone()[0] != pid


def _child_uses_then_closes(db: PgDatabase, out: mp.Queue) -> None:
    import gc

    out.put(db.fetch_one("SELECT pg_backend_pid()")[0])
    db.close()  # the child's own pool; the connections inherited from the parent stay open
    gc.collect()


def test_a_forked_process_never_closes_its_parents_connections(pg: PgDatabase) -> None:
    parent = pg.get_db_connection().execute("SELECT pg_backend_pid()").fetchone()[0]
    ctx = mp.get_context("fork")
    q: mp.Queue = ctx.Queue()
    p = ctx.Process(target=_child_uses_then_closes, args=(pg, q))
    p.start()
    child = q.get(timeout=60)
    p.join(timeout=30)
    assert p.exitcode == 0 and child != parent
    reopens = pg.reopens
    assert pg.get_db_connection().execute("SELECT pg_backend_pid()").fetchone()[0] == parent
    assert pg.reopens == reopens


def test_a_transaction_an_error_aborted_is_never_reported_committed(pg: PgDatabase) -> None:
    # SQLite keeps a transaction open after a failed statement; PostgreSQL aborts it and would
    # answer COMMIT with a silent ROLLBACK: the engine raises instead of reporting a commit
    sql = "INSERT INTO suite_state (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)"
    with pytest.raises(psycopg.errors.InFailedSqlTransaction, match="rolled back"):
        with pg.transaction() as conn:
            conn.execute(sql, ("aborted-1", "1", "t", "t"))
            with pytest.raises(IntegrityError):
                conn.execute(sql, ("aborted-1", "2", "t", "t"))  # swallowed by the caller
    assert pg.fetch_one("SELECT COUNT(*) FROM suite_state WHERE key = 'aborted-1'")[0] == 0
    assert not pg.get_db_connection().in_transaction


def test_server_faults_are_clear_errors_and_counted_as_failed_writes(pg_url: str) -> None:
    ro = PgDatabase(f"{pg_url}?options=-cdefault_transaction_read_only%3Don")
    try:
        with pytest.raises(OperationalError, match="the database is read-only") as err:
            ro.execute_with_retry(
                "INSERT INTO suite_state (key, value, updated_by, updated_at) VALUES (?, ?, ?, ?)",
                ("ro", "1", "t", "t"))
        assert err.value.code == "database_unavailable"
        assert ro.write_failures == 1 and ro.fetch_one("SELECT 1")[0] == 1  # reads still work
    finally:
        ro.close()
    with socket.socket() as s:  # a port nothing listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    gone = PgDatabase(f"postgresql://postgres@127.0.0.1:{port}/x?connect_timeout=2")
    try:
        with pytest.raises(OperationalError, match="cannot be reached"):
            gone.fetch_one("SELECT 1")
        assert not gone.ping()
    finally:
        gone.close()


def test_a_connection_dropped_inside_a_transaction_runs_it_again_whole(pg: PgDatabase,
                                                                      pg_url: str) -> None:
    calls: list[int] = []

    def write(conn) -> bool:  # noqa: ANN001
        calls.append(1)
        conn.execute("INSERT INTO suite_state (key, value, updated_by, updated_at) "
                     "VALUES (?, ?, ?, ?)", ("mid-tx", str(len(calls)), "t", "t"))
        if len(calls) == 1:  # the server ends this session mid-transaction
            pid = conn.execute("SELECT pg_backend_pid()").fetchone()[0]
            with psycopg.connect(pg_url, autocommit=True) as admin:
                admin.execute("SELECT pg_terminate_backend(%s)", (pid,))
            conn.execute("SELECT 1")
        return True

    assert pg.run_in_transaction(write)
    assert len(calls) == 2
    assert [tuple(r) for r in pg.fetch_all(
        "SELECT key, value FROM suite_state WHERE key = 'mid-tx'")] == [("mid-tx", "2")]


def test_postgresql_errors_that_a_new_attempt_may_not_meet_are_retried() -> None:
    for cls in (psycopg.errors.SerializationFailure, psycopg.errors.DeadlockDetected,
                psycopg.errors.LockNotAvailable, psycopg.OperationalError):
        assert is_lock_error(cls("x")), cls
    for cls in (psycopg.errors.UniqueViolation, psycopg.errors.UndefinedColumn):
        assert not is_lock_error(cls("x")), cls


def test_rows_and_values_read_as_sqlite_gives_them(pg: PgDatabase) -> None:
    row = pg.fetch_one("SELECT 1 AS a, 'x' AS \"Name\", SUM(v) AS s, AVG(v) AS m, ? AS b "
                       "FROM (VALUES (1), (2)) AS q(v)", (True,))
    assert row[0] == 1 and row["a"] == 1 and row["Name"] == "x" and row["name"] == "x"
    assert row["s"] == 3 and isinstance(row["s"], int)
    assert row["m"] == 1.5 and row["b"] == 1
    assert dict(row) == {"a": 1, "Name": "x", "s": 3, "m": 1.5, "b": 1}
    assert tuple(row) == (1, "x", 3, 1.5, 1)
    with pytest.raises(IndexError, match="no such column"):
        row["nope"]  # noqa: B018
    # SQLite's PRAGMAs: the ones with a meaning answered, the settings ignored
    conn = pg.get_db_connection()
    assert [r["name"] for r in conn.execute("PRAGMA table_info(pt_book)")] == \
        ["id", "version", "reserved_micros"]
    assert conn.execute("PRAGMA soft_heap_limit").fetchone()[0] == 0
    assert conn.execute("PRAGMA soft_heap_limit=1000").fetchall() == []
    assert conn.execute("PRAGMA quick_check").fetchone()[0] == "ok"


def test_the_translation_leaves_literals_comments_and_casts_alone() -> None:
    assert to_pg("SELECT a FROM t WHERE b = ? AND c LIKE '50%?' AND d = :n::text -- x?") == \
        "SELECT a FROM t WHERE b = %s AND c LIKE '50%%?' AND d = %(n)s::text -- x?"
    assert to_pg("SELECT '%' FROM t", False) == "SELECT '%' FROM t"
    assert to_pg("INSERT OR IGNORE INTO t (a) VALUES (?) RETURNING id") == \
        "INSERT INTO t (a) VALUES (%s) ON CONFLICT DO NOTHING RETURNING id"
    assert to_pg("BEGIN IMMEDIATE").startswith("BEGIN; SELECT pg_advisory_xact_lock(")
    with pytest.raises(UnsupportedSQL, match="ON CONFLICT"):
        to_pg("INSERT OR REPLACE INTO t VALUES (?)")
    ddl = ddl_to_pg("CREATE TABLE x (id INTEGER PRIMARY KEY AUTOINCREMENT, "
                    "a TEXT DEFAULT 'INTEGER REAL', r REAL, b BLOB) WITHOUT ROWID")
    assert ddl == ('CREATE TABLE x (id BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY, '
                   "a TEXT COLLATE \"C\" DEFAULT 'INTEGER REAL', r DOUBLE PRECISION, b BYTEA)")
    assert ddl_to_pg(ddl) == ddl  # translating twice changes nothing
    assert split_statements("CREATE FUNCTION f() AS $$ BEGIN a; b; END $$; SELECT ';';\n-- c;") \
        == ["CREATE FUNCTION f() AS $$ BEGIN a; b; END $$", "SELECT ';'"]


def test_database_url_selects_the_engine_and_a_bad_scheme_stops_the_start(
        tmp_path: Path, pg_url: str) -> None:
    env = {"DATABASE_URL": pg_url, "LOG_DIR": str(tmp_path)}
    settings = load_settings(environ=env)
    db = get_database(settings)
    try:
        assert isinstance(db, PgDatabase) and db.ping()
        assert get_database(settings) is db
        assert "***" not in redact(pg_url)  # no password here to hide
        assert redact("postgresql://u:secret@h:5432/d") == "postgresql://u:***@h:5432/d"
    finally:
        db.close()
    with pytest.raises(ConfigError, match="unknown database URL scheme 'mysql'"):
        load_settings(environ={"DATABASE_URL": "mysql://h/d"})
    lite = load_settings(environ={"DATABASE_URL": f"sqlite:///{tmp_path}/x.db"})
    assert lite.database_path == tmp_path / "x.db"
    assert type(Database.from_settings(lite)) is Database


def test_the_managers_migrate_runs_on_database_url(pg_cluster, tmp_path: Path,  # noqa: ANN001
                                                  monkeypatch: pytest.MonkeyPatch,
                                                  capsys: pytest.CaptureFixture[str]) -> None:
    import hybrid_manager

    url = pg_cluster.create_database(migrated=False)
    monkeypatch.setenv("DATABASE_URL", url)
    monkeypatch.setenv("DATABASE_PATH", str(tmp_path / "unused.db"))
    monkeypatch.setenv("LOG_DIR", str(tmp_path / "logs"))
    assert hybrid_manager.main(["migrate"]) == 0
    out = capsys.readouterr().out
    assert "applied: 0001_init.sql" in out and f"database: {url}" in out
    assert not (tmp_path / "unused.db").exists()  # DATABASE_PATH names SQLite only
    assert hybrid_manager.main(["migrate"]) == 0
    assert "database is up to date" in capsys.readouterr().out


def test_migrate_on_an_empty_postgresql_database_then_again_is_a_no_op(pg_cluster) -> None:
    db = PgDatabase(pg_cluster.create_database(migrated=False))
    try:
        applied = migrate(db)
        assert applied[0] == "0001_init.sql" and len(applied) >= 15
        assert migrate(db) == []
        # a row inserted without an id after a migration's explicit id (pt_book's 1) gets the
        # next one, not a conflict: the runner moved the identity past the stored ids
        with db.transaction() as conn:
            new = conn.execute("INSERT INTO pt_book (version, reserved_micros) VALUES (0, 0) "
                               "RETURNING id").fetchone()[0]
        assert new == 2
    finally:
        db.close()
