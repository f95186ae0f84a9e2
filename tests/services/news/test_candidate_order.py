"""A near duplicate merges into the oldest similar story (then the lowest id), on SQLite and
PostgreSQL alike, whatever order the engine returns unordered rows in (issue 21: the
candidates' SELECT DISTINCT had no ORDER BY, and PostgreSQL's comes back by hash)."""
from __future__ import annotations

import json
from collections.abc import Iterator

import pandas as pd
import pytest

from services.news import repository as repo
from shared.db import Database, migrate
from tests.conftest import make_settings

T0 = pd.Timestamp("2024-03-12T15:00:00Z")


@pytest.fixture(scope="module", params=["sqlite", "postgresql"])
def db(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
       ) -> Iterator[Database]:
    extra = {}
    if request.param == "postgresql":
        extra["database__url"] = request.getfixturevalue("pg_url")
    database = Database.from_settings(make_settings(tmp_path_factory.mktemp("news"), **extra))
    migrate(database)
    yield database
    database.close()


def _story(conn, key: str, extra: str, when: pd.Timestamp) -> int:  # type: ignore[no-untyped-def]
    at = when.isoformat()
    return repo.insert(conn, {
        "headline": f"{key} {extra}", "summary": "", "author": "", "source": "test", "url": "",
        "symbols": json.dumps(["ACME", extra]), "created_at": at, "updated_at": at,
        "content": "", "sentiment_score": 0.0, "sentiment_label": "neutral", "dedup_key": key,
        "external_id": None, "origin": "test", "event_type": "", "duplicate_count": 0,
        "known_at": at, "ingested_at": at})


def test_candidates_come_oldest_first_then_by_id(db: Database) -> None:
    # stored newest first, each with another second symbol: ids and times disagree, and a
    # story matches on two symbols (once in the answer)
    with db.transaction() as conn:
        for k, extra in ((7, "ZZZ"), (5, "AAA"), (6, "MMM"), (5, "BBB"), (4, "QQQ"), (5, "CCC")):
            _story(conn, f"key{k % 2}", extra, T0 + pd.Timedelta(hours=k))
    conn = db.get_db_connection()
    lo, hi = (T0 - pd.Timedelta(days=1)).isoformat(), (T0 + pd.Timedelta(days=1)).isoformat()
    got = [(r["created_at"], r["id"]) for r in repo.candidates(conn, ["ACME", "AAA"], lo, hi)]
    assert got == sorted(got) and len(got) == 6
    # the same-key lookup takes the oldest, then the lowest id (three tie at hour 5)
    first = repo.by_key(conn, "key1", lo, hi)
    assert first is not None and first["headline"] == "key1 AAA"
