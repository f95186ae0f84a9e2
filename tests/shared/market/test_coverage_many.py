"""Coverage added for many symbols at once equals adding it one symbol at a time."""
from __future__ import annotations

from shared.db import Database
from shared.market.storage import BarStore

SPAN = ("2024-03-05T15:00:00+00:00", "2024-03-05T15:10:00+00:00")
EXISTING = {  # per symbol: coverage rows before the write
    "AAA": [],  # none
    "BBB": [("2024-03-05T14:30:00+00:00", "2024-03-05T15:00:00+00:00")],  # touching
    "CCC": [("2024-03-05T14:30:00+00:00", "2024-03-05T15:05:00+00:00"),  # overlapping both
            ("2024-03-05T15:08:00+00:00", "2024-03-05T16:00:00+00:00")],
    "DDD": [("2024-03-04T14:30:00+00:00", "2024-03-04T21:00:00+00:00"),  # disjoint, kept
            ("2024-03-05T15:02:00+00:00", "2024-03-05T15:04:00+00:00")],  # inside
    "EEE": [("2024-03-05T15:20:00+00:00", "2024-03-05T15:30:00+00:00")],  # after, kept
}


def _coverage(db: Database, store: BarStore, many: bool) -> list[tuple[str, ...]]:
    with db.transaction("t") as c:
        c.execute("DELETE FROM bar_coverage")
        c.executemany("INSERT INTO bar_coverage (symbol, timeframe, start_ts, end_ts, source, "
                      "fetched_at) VALUES (?, '5m', ?, ?, 'old', 'then')",
                      [(s, a, b) for s, spans in EXISTING.items() for a, b in spans])
        c.execute("INSERT INTO bar_coverage VALUES ('AAA', '1m', ?, ?, 'old', 'then')", SPAN)
        if many:
            store._add_coverage_many(c, list(EXISTING), "5m", *SPAN, "simulated")
        else:
            for s in EXISTING:
                store._add_coverage(c, s, "5m", *SPAN, "simulated")
    return [tuple(r)[:5] for r in db.fetch_all(
        "SELECT symbol, timeframe, start_ts, end_ts, source FROM bar_coverage "
        "ORDER BY symbol, timeframe, start_ts")]


def test_many_symbols_at_once_equal_one_at_a_time(db: Database) -> None:
    store = BarStore(db)
    one = _coverage(db, store, many=False)
    assert _coverage(db, store, many=True) == one
    assert ("CCC", "5m", "2024-03-05T14:30:00+00:00", "2024-03-05T16:00:00+00:00",
            "simulated") in one  # merged across the new span
    assert ("EEE", "5m", "2024-03-05T15:20:00+00:00", "2024-03-05T15:30:00+00:00",
            "old") in one
