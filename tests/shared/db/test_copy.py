"""``hybrid_manager.py db copy``: a SQLite installation with trading on it, copied to a fresh
PostgreSQL database, holds the same rows in every table, the same ledger per account, and
goes on working there (identities past the copied ids, the book's trigger on again)."""
from __future__ import annotations

from collections import Counter
from datetime import timedelta
from pathlib import Path

import pytest

import hybrid_manager
from services.paper_trading.service_layer.service import PaperTradingService
from shared.db import Database, migrate
from shared.db.copy import CopyRefused, copy_database
from shared.db.postgres import PgDatabase
from shared.trading.schemas import OrderRequest
from tests.conftest import make_settings
from tests.pg import PgCluster
from tests.services.paper_trading.helpers import OPEN, Clock, flat, seed_bars

M = timedelta(minutes=1)


@pytest.fixture(scope="module")
def installation(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A migrated SQLite file where two accounts traded: orders, fills, ledger, positions."""
    tmp = tmp_path_factory.mktemp("install")
    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    seed_bars(db, "AAPL", OPEN, flat("100.25", 30))
    seed_bars(db, "MSFT", OPEN, flat("50.10", 30))
    clock = Clock(OPEN + M)
    svc = PaperTradingService(settings, database=db, now=clock)
    svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=7, client_order_id="a-1"))
    svc.submit_order(OrderRequest(symbol="MSFT", side="buy", qty="2.5", type="limit",
                                  limit_price="50.10", time_in_force="day"))
    svc.submit_order(OrderRequest(symbol="AAPL", side="buy", qty=1, type="limit",
                                  limit_price="90", time_in_force="gtc"))  # stays working
    clock.t = OPEN + 4 * M
    svc.process_until()
    svc.submit_order(OrderRequest(symbol="AAPL", side="sell", qty=3))
    clock.t = OPEN + 8 * M
    svc.process_until()
    assert svc.invariants()["ok"]
    # rows of a child table that sorts before its parent (scan_results -> scan_runs)
    with db.transaction() as conn:
        conn.execute("INSERT INTO scan_runs (id, clock_ts, filters, universe_size, matched, "
                     "duration_ms, created_at) VALUES ('r1', 't', '{}', 5, 1, 1.25, 't')")
        conn.execute("INSERT INTO scan_results (run_id, rank, symbol, score, price_micros, "
                     "metrics, explanation) VALUES ('r1', 1, 'AAPL', 0.5, 100250000, '{}', '[]')")
    db.close()
    return settings.database_path


def _rows(db: Database, table: str) -> Counter[tuple[object, ...]]:
    return Counter(tuple(r) for r in db.fetch_all(f"SELECT * FROM {table}"))  # noqa: S608


def test_a_sqlite_installation_copied_to_postgresql_is_the_same_row_for_row(
        installation: Path, pg_cluster: PgCluster, capsys: pytest.CaptureFixture[str]) -> None:
    url = pg_cluster.create_database(migrated=False)
    code = hybrid_manager.main(["db", "copy", "--from", f"sqlite:///{installation}",
                                "--to", url])
    out = capsys.readouterr().out
    assert code == 0, out
    assert "row counts and checksums equal in every table; ledgers equal for 1 account(s)" in out
    lite, pg = Database(installation), PgDatabase(url)
    try:
        tables = lite.table_names()
        assert set(tables) == set(pg.table_names())
        for t in tables:  # every row, every column (generated ones recomputed by PostgreSQL)
            if t != "schema_migrations":  # the target's own, applied by the copy
                assert _rows(pg, t) == _rows(lite, t), t
        versions = "SELECT version, checksum FROM schema_migrations"
        assert Counter(map(tuple, pg.fetch_all(versions))) == \
            Counter(map(tuple, lite.fetch_all(versions)))
        assert sum(len(_rows(lite, t)) for t in ("pt_orders", "pt_fills", "pt_ledger")) >= 7
        # exact to the cent on both: cash = start + the ledger's sum
        for db in (lite, pg):
            row = db.fetch_one("SELECT a.start_cash_micros + COALESCE(SUM(l.amount_micros), 0), "
                               "a.cash_micros FROM pt_accounts a LEFT JOIN pt_ledger l "
                               "ON l.account = a.id GROUP BY a.id, a.start_cash_micros, "
                               "a.cash_micros")
            assert row[0] == row[1]
        # PostgreSQL goes on from there: new ids after the copied ones, the book's trigger on
        settings = make_settings(installation.parent / "pg", database__url=url)
        clock = Clock(OPEN + 9 * M)
        svc = PaperTradingService(settings, database=pg, now=clock)
        before = pg.fetch_one("SELECT MAX(id) FROM pt_ledger")[0]
        book = pg.fetch_one("SELECT version FROM pt_book WHERE id = 1")[0]
        svc.submit_order(OrderRequest(symbol="MSFT", side="buy", qty=1))
        assert pg.fetch_one("SELECT version FROM pt_book WHERE id = 1")[0] == book + 1
        clock.t = OPEN + 12 * M
        svc.process_until()
        assert pg.fetch_one("SELECT MAX(id) FROM pt_ledger")[0] > before
        assert svc.invariants()["ok"]
    finally:
        lite.close()
        pg.close()
    # a target that was migrated before needs --force: its data would be replaced
    assert hybrid_manager.main(["db", "copy", "--from", f"sqlite:///{installation}",
                                "--to", url]) == 2
    assert "--force" in capsys.readouterr().out
    assert hybrid_manager.main(["db", "copy", "--from", f"sqlite:///{installation}",
                                "--to", url, "--force"]) == 0
    capsys.readouterr()


def test_a_copy_refuses_a_source_behind_the_migrations_and_a_copy_onto_itself(
        tmp_path: Path, pg_cluster: PgCluster) -> None:
    old = Database(tmp_path / "old.db")
    mig = tmp_path / "m"
    mig.mkdir()
    (mig / "0001_init.sql").write_text((Path(migrate.__globals__["MIGRATIONS_DIR"])
                                        / "0001_init.sql").read_text())
    migrate(old, mig)
    pg = PgDatabase(pg_cluster.create_database(migrated=False))
    try:
        with pytest.raises(CopyRefused, match="the source lacks migrations"):
            copy_database(old, pg)
        with pytest.raises(CopyRefused, match="the same database"):
            copy_database(old, Database(tmp_path / "old.db"))
    finally:
        old.close()
        pg.close()
