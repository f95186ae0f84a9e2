"""The candlestick repository's SQL answers the same on SQLite and PostgreSQL (issue 21):
duplicate detections and outcomes are skipped, the pending scans (SQLite's index hint) and
the per-group outcome sums (wins, losses and totals) match."""
from __future__ import annotations

from collections.abc import Iterator

import pytest

from services.pattern_recognition import repository as repo
from shared.db import Database, migrate
from tests.conftest import make_settings

DETECTIONS = [  # symbol, timeframe, ts, visible_at, pattern, direction, value, strength,
    #             close_micros, tod_bucket, detected_at
    (s, "5m", f"2024-03-05T15:{m:02d}:00+00:00", f"2024-03-05T15:{m + 5:02d}:00+00:00", p, d,
     100 * d, 0.5, 10_000_000 + m, "open", "2024-03-05T16:00:00+00:00")
    for s in ("AAA", "BBB") for m in range(0, 40, 5) for p, d in (("hammer", 1),
                                                                   ("engulfing", -1))]


def _write_and_read(db: Database) -> dict[str, object]:
    with db.transaction("t") as conn:
        added = repo.insert_detections(conn, DETECTIONS)
        again = repo.insert_detections(conn, DETECTIONS[:5])  # already stored: skipped
        ids = [r[0] for r in conn.execute(
            "SELECT id FROM candle_detections ORDER BY symbol, ts, pattern")]
        # outcomes for horizons 1 and 3 of every other detection; returns of both signs
        rows = [(i, h, (k % 7 - 3) / 100, (k % 5 - 2) / 100, "2024-03-05T17:00:00+00:00")
                for k, i in enumerate(ids[::2]) for h in (1, 3)]
        outcomes = repo.insert_outcomes(conn, rows)
        outcomes_again = repo.insert_outcomes(conn, rows[:3])
        repo.mark_complete(conn, ids, 2)
        pending = [tuple(r) for r in repo.pending(conn, "AAA", "5m")]
        after = [tuple(r) for r in repo.pending_after(conn, "AAA", "5m",
                                                       "2024-03-05T15:10:00+00:00")]
        with_outcomes = [tuple(r) for r in repo.pending_outcomes(conn, "BBB", "5m")]
        repo.set_progress(conn, "AAA", "5m", "2024-03-05T15:35:00+00:00", "t1")
        repo.set_progress(conn, "AAA", "5m", "2024-03-05T15:40:00+00:00", "t2")
    sums = {g: [tuple(r) for r in repo.outcome_sums(db, "5m", "2024-03-05T18:00:00+00:00", g)]
            for g in repo.GROUPINGS}
    return {"added": added, "again": again, "outcomes": outcomes,
            "outcomes_again": outcomes_again, "pending": pending, "after": after,
            "with_outcomes": with_outcomes, "sums": sums,
            "progress": repo.versions(db.get_db_connection(), ["AAA", "BBB"], "5m"),
            "detections": [tuple(r) for r in repo.detections(
                db, "AAA", "5m", "2024-03-05", "2024-03-06", "2024-03-05T15:20:00+00:00",
                ["hammer"], 100)]}


@pytest.fixture(scope="module")
def engines(tmp_path_factory: pytest.TempPathFactory, pg_url: str) -> Iterator[tuple]:
    lite = Database.from_settings(make_settings(tmp_path_factory.mktemp("lite")))
    migrate(lite)
    pg = Database.from_settings(make_settings(tmp_path_factory.mktemp("pg"), database__url=pg_url))
    yield lite, pg
    lite.close()
    pg.close()


def test_the_same_answers_on_both_engines(engines: tuple[Database, Database]) -> None:
    lite, pg = (_write_and_read(db) for db in engines)
    assert lite["added"] == len(DETECTIONS) and lite["again"] == 0
    assert lite["outcomes_again"] == 0 and lite["pending"] and lite["with_outcomes"]
    by_pattern = lite["sums"]["pattern"]
    assert sum(r[3] for r in by_pattern) > 0 and sum(r[4] for r in by_pattern) > 0  # wins, losses
    assert lite["progress"] == {"AAA": ("2024-03-05T15:40:00+00:00", "t2")}
    for key in lite:
        if key != "sums":
            assert pg[key] == lite[key], key
    for g, rows in lite["sums"].items():  # float totals: summed in another order, same to 1e-12
        assert [r[:-5] for r in pg["sums"][g]] == [r[:-5] for r in rows], g
        assert [r[-5:] for r in pg["sums"][g]] == [pytest.approx(r[-5:], abs=1e-12)
                                                   for r in rows], g
