"""``db copy``'s checks and ``db verify``: a round trip SQLite -> PostgreSQL -> SQLite keeps every
table's checksum, paper trading started as a real service on the PostgreSQL copy serves the
account and positions the original serves, one changed row in a target is found and named,
and an unreachable server or a bad URL is one sentence and exit 2 within seconds."""
from __future__ import annotations

import io
import sqlite3
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from contextlib import redirect_stdout
from decimal import Decimal
from pathlib import Path

import pytest
import requests

import hybrid_manager
from shared.db import Database
from shared.db.copy import verify_databases
from tests.dashboard.harness import ROOT, Suite
from tests.pg import PgCluster
from tests.shared.db.test_copy import installation  # noqa: F401 - the traded SQLite file

TRADED = ("pt_orders", "pt_fills", "pt_ledger", "pt_accounts", "bars")


def _run(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    code = hybrid_manager.main(["db", *args])
    return code, capsys.readouterr().out


@pytest.fixture(scope="module")
def trip(installation: Path, pg_cluster: PgCluster,  # noqa: F811
         tmp_path_factory: pytest.TempPathFactory) -> dict[str, str]:
    """The installation copied to a fresh PostgreSQL database, and from there to a new file."""
    back = tmp_path_factory.mktemp("back") / "trading.db"
    urls = {"lite": f"sqlite:///{installation}", "pg": pg_cluster.create_database(migrated=False),
            "back": f"sqlite:///{back}"}
    for a, b in (("lite", "pg"), ("pg", "back")):
        with redirect_stdout(io.StringIO()) as out:
            code = hybrid_manager.main(["db", "copy", "--from", urls[a], "--to", urls[b]])
        assert code == 0, (a, b, out.getvalue())
        urls[f"{a}->{b}"] = out.getvalue()
    return urls


def test_a_round_trip_keeps_every_tables_checksum(
        trip: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    lite, back = Database(trip["lite"][10:]), Database(trip["back"][10:])
    try:
        report = verify_databases(lite, back)  # raises CopyMismatch on any difference
    finally:
        lite.close()
        back.close()
    assert report.ok and len(report.digests) >= 30
    for t in TRADED:  # tables with rows: the checksums compare something
        assert report.tables[t][0] > 0, t
        src, dst = report.digests[t]
        assert src == dst and len(src) == 64, t
    assert report.ledgers and all(a == b for a, b in report.ledgers.values())
    # the commands: one summary line per table with its rows and seconds (copy, check)
    rows = report.tables["pt_fills"][1]
    code, out = _run(capsys, "verify", "--from", trip["lite"], "--to", trip["pg"])
    assert code == 0, out
    for said, seconds in ((trip["lite->pg"], 2), (trip["pg->back"], 2), (out, 1)):
        line = next(ln for ln in said.splitlines() if ln.split()[:1] == ["pt_fills"])
        assert f" {rows} rows " in line and line.endswith(f"{report.digests['pt_fills'][0][:12]}"
                                                          "  ok"), line
        assert line.count(" s ") == seconds, line
        assert "row counts and checksums equal in every table" in said


def test_one_changed_row_in_the_target_is_found_and_named(
        trip: dict[str, str], capsys: pytest.CaptureFixture[str]) -> None:
    back = trip["back"][10:]
    with sqlite3.connect(back) as conn:  # one fill's price moves by one micro-unit
        conn.execute("UPDATE pt_fills SET price_micros = price_micros + 1 "
                     "WHERE id = (SELECT MIN(id) FROM pt_fills)")
    code, out = _run(capsys, "verify", "--from", trip["pg"], "--to", trip["back"])
    assert code == 1, out
    assert "table pt_fills: the rows differ" in out
    assert [ln for ln in out.splitlines() if ln.endswith("DIFFERS")] == \
        [ln for ln in out.splitlines() if ln.split()[:1] == ["pt_fills"]]
    # a row that is gone: the count names the table
    with sqlite3.connect(back) as conn:
        conn.execute("DELETE FROM scan_results")
    code, out = _run(capsys, "verify", "--from", trip["pg"], "--to", trip["back"])
    assert code == 1 and "table scan_results: 1 rows in the source, 0 in the target" in out


def test_paper_trading_started_on_the_postgresql_copy_serves_the_same_account(
        trip: dict[str, str], installation: Path,  # noqa: F811
        tmp_path_factory: pytest.TempPathFactory) -> None:
    """The real service (gunicorn, a free loopback port) on DATABASE_URL=the copy, beside one
    on the original SQLite file: the same account, positions and orders over HTTP."""
    on_pg = Suite(tmp_path_factory.mktemp("served_pg"), {"DATABASE_URL": trip["pg"]})
    on_lite = Suite(installation.parent)  # its DATABASE_PATH is the installation's file
    try:
        with ThreadPoolExecutor(2) as pool:  # both start at once: gunicorn takes seconds
            list(pool.map(lambda suite: suite.start("paper_trading"), (on_pg, on_lite)))
        answers = []
        for suite in (on_pg, on_lite):
            base = suite.url("paper_trading") + "/api/v1"
            answers.append({p: requests.get(f"{base}/{p}", timeout=10).json()["data"]
                            for p in ("account", "positions", "orders?status=all")})
    finally:
        on_pg.stop_all()
        on_lite.stop_all()
    pg, lite = answers
    assert {p["symbol"] for p in lite["positions"]} == {"AAPL", "MSFT"}
    assert pg["positions"] == lite["positions"]
    assert len(lite["orders?status=all"]) >= 4
    assert pg["orders?status=all"] == lite["orders?status=all"]
    assert pg["account"] == lite["account"]
    assert Decimal(pg["account"]["cash"]) == Decimal("99473.75")  # 100,000 less the buys


def test_an_unreachable_server_or_a_bad_url_is_one_sentence_and_exit_2(
        installation: Path, tmp_path: Path, pg_cluster: PgCluster,  # noqa: F811
        capsys: pytest.CaptureFixture[str]) -> None:
    source = f"sqlite:///{installation}"
    # the real command line: one sentence on stdout, nothing on stderr (no traceback)
    out = subprocess.run([sys.executable, "hybrid_manager.py", "db", "copy", "--from", source,
                          "--to", "postgresql://u@127.0.0.1:1/x"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60)
    assert out.returncode == 2, out
    assert out.stdout == ("db copy refused: PostgreSQL at postgresql://u@127.0.0.1:1/x cannot be "
                          "reached (Connection refused).\n") and not out.stderr.strip(), out
    cases = {
        "postgresql://u@127.0.0.1:1/x": "cannot be reached (Connection refused).",
        "postgresql://u:pw@127.0.0.1:notaport/x": "cannot be reached (invalid integer value",
        "mysql://h/d": "unknown database URL 'mysql://h/d'",
        pg_cluster.url("nope"): 'cannot be reached (database "nope" does not exist).',
    }
    for url, expected in cases.items():
        t0 = time.monotonic()
        code, said = _run(capsys, "copy", "--from", source, "--to", url)
        assert time.monotonic() - t0 < 5  # the pool would have waited 30 s
        assert code == 2 and expected in said and ":pw@" not in said, said
        assert len(said.strip().splitlines()) == 1, said
    code, said = _run(capsys, "verify", "--from", f"sqlite:///{tmp_path}/none.db", "--to", source)
    assert code == 2 and said.startswith("db verify refused: no SQLite file at"), said
