"""Stored chart patterns tied on start time and pattern come back in one order (their stable
id), whatever order they were written in or the engine returns ties in: coordination scores
the first page and takes the first of equally confident patterns for its stop (issue 21)."""
from __future__ import annotations

from services.pattern_analysis.repository import PatternRepository

_SQL = ("INSERT INTO chart_patterns (id, symbol, timeframe, pattern, direction, status, "
        "start_ts, end_ts, pivots, confidence, measurements, first_seen_at, updated_at) "
        "VALUES (?, 'AAA', '15m', 'double_top', 'bearish', 'forming', ?, ?, '[]', 0.5, '{}', "
        "?, ?)")


def test_ties_on_start_and_pattern_are_ordered_by_id(db) -> None:  # type: ignore[no-untyped-def]
    start, at = "2024-11-27T15:00:00+00:00", "2024-11-29T15:00:00+00:00"
    with db.transaction() as conn:  # written newest id first
        for pid, end in (("zz-later", "2024-11-28T16:00:00+00:00"),
                         ("aa-first", "2024-11-28T18:00:00+00:00"),
                         ("mm-middle", "2024-11-28T17:00:00+00:00")):
            conn.execute(_SQL, (pid, start, end, at, at))
    repo = PatternRepository(db)
    assert [d["id"] for d in repo.detections("AAA", "15m")] == [
        "aa-first", "mm-middle", "zz-later"]
    # and the page a limit cuts is the same rows
    assert [d["id"] for d in repo.detections("AAA", "15m", limit=2)] == ["aa-first", "mm-middle"]
