"""SQL for the tables this service owns: candle_detections, candle_outcomes, candle_progress."""
from __future__ import annotations

import sqlite3
from collections.abc import Iterable, Sequence
from typing import Any

from shared.db import Database
from shared.sqlcompat import indexed_by

_DETECTION_COLS = ("symbol", "timeframe", "ts", "visible_at", "pattern", "direction", "value",
                   "strength", "close_micros", "tod_bucket", "detected_at")
_INSERT_DETECTION = (
    f"INSERT INTO candle_detections ({', '.join(_DETECTION_COLS)}) "  # noqa: S608
    f"VALUES ({', '.join('?' * len(_DETECTION_COLS))}) ON CONFLICT DO NOTHING")


def _pending_index(conn: Any) -> str:
    return indexed_by(conn, "ix_candle_detections_pending")


# Group-by choices for statistics, mapped to trusted SQL (never user text).
GROUPINGS: dict[str, tuple[str, ...]] = {
    "pattern": ("d.pattern",),
    "time_of_day": ("d.pattern", "d.tod_bucket"),
    "symbol": ("d.pattern", "d.symbol"),
    "direction": ("d.pattern", "d.direction"),
}


def progress(conn: sqlite3.Connection, symbol: str, timeframe: str) -> str | None:
    """Return the open time of the last bar scanned for (symbol, timeframe), or None."""
    row = conn.execute("SELECT last_bar_ts FROM candle_progress WHERE symbol = ? AND "
                       "timeframe = ?", (symbol, timeframe)).fetchone()
    return None if row is None else str(row[0])


def versions(conn: sqlite3.Connection, symbols: Sequence[str], timeframe: str
             ) -> dict[str, tuple[str, str]]:
    """Return (last_bar_ts, updated_at) of each symbol that has a progress row."""
    out: dict[str, tuple[str, str]] = {}
    for i in range(0, len(symbols), 500):  # under SQLite's bound-parameter limit
        part = list(symbols[i:i + 500])
        out.update((r[0], (str(r[1]), str(r[2]))) for r in conn.execute(
            "SELECT symbol, last_bar_ts, updated_at FROM candle_progress WHERE "  # noqa: S608
            f"timeframe = ? AND symbol IN ({', '.join('?' * len(part))})", [timeframe, *part]))
    return out


def set_progress(conn: sqlite3.Connection, symbol: str, timeframe: str, last_bar_ts: str,
                 now: str) -> None:
    conn.execute(
        "INSERT INTO candle_progress (symbol, timeframe, last_bar_ts, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (symbol, timeframe) DO UPDATE SET "
        "last_bar_ts = excluded.last_bar_ts, updated_at = excluded.updated_at",
        (symbol, timeframe, last_bar_ts, now))


def insert_detections(conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert detection rows (in ``_DETECTION_COLS`` order); already-stored ones are skipped."""
    cur = conn.executemany(_INSERT_DETECTION, list(rows))
    return cur.rowcount


def pending(conn: sqlite3.Connection, symbol: str, timeframe: str) -> list[sqlite3.Row]:
    """Return the detections of (symbol, timeframe) still missing an outcome, oldest first."""
    return conn.execute(
        # The partial index holds only the pending rows; without stats SQLite's planner would
        # take the full (symbol, timeframe, ts) index and walk every detection of the symbol.
        "SELECT id, ts, close_micros, direction FROM candle_detections "  # noqa: S608 - constant
        f"{_pending_index(conn)}"
        "WHERE symbol = ? AND timeframe = ? AND complete = 0 ORDER BY ts",
        (symbol, timeframe)).fetchall()


def pending_after(conn: sqlite3.Connection, symbol: str, timeframe: str, after_ts: str
                  ) -> list[sqlite3.Row]:
    """Return ``pending``'s rows with ts after ``after_ts`` (the ones an update just added)."""
    return conn.execute(
        "SELECT id, ts, close_micros, direction FROM candle_detections "  # noqa: S608 - constant
        f"{_pending_index(conn)}"
        "WHERE symbol = ? AND timeframe = ? AND complete = 0 AND ts > ? ORDER BY ts",
        (symbol, timeframe, after_ts)).fetchall()


def pending_outcomes(conn: sqlite3.Connection, symbol: str, timeframe: str
                     ) -> list[sqlite3.Row]:
    """Return ``pending``'s rows with the horizon of each outcome they have (None: none yet):
    (id, ts, close_micros, direction, horizon), by ts then id."""
    return conn.execute(
        "SELECT d.id, d.ts, d.close_micros, d.direction, o.horizon FROM candle_detections d "  # noqa: S608
        f"{_pending_index(conn)}"
        "LEFT JOIN candle_outcomes o ON o.detection_id = d.id "
        "WHERE d.symbol = ? AND d.timeframe = ? AND d.complete = 0 ORDER BY d.ts, d.id",
        (symbol, timeframe)).fetchall()


def mark_complete(conn: sqlite3.Connection, ids: Sequence[int], horizons: int) -> None:
    """Flag the detections among ``ids`` that now have an outcome for every horizon."""
    conn.executemany(
        "UPDATE candle_detections SET complete = 1 WHERE id = ? AND "
        "(SELECT COUNT(*) FROM candle_outcomes WHERE detection_id = ?) >= ?",
        [(i, i, horizons) for i in ids])


def insert_outcomes(conn: sqlite3.Connection, rows: Iterable[Sequence[Any]]) -> int:
    """Insert (detection_id, horizon, ret, signed_ret, available_at); existing ones stay."""
    cur = conn.executemany(
        "INSERT INTO candle_outcomes (detection_id, horizon, ret, signed_ret, "
        "available_at) VALUES (?, ?, ?, ?, ?) ON CONFLICT DO NOTHING", list(rows))
    return cur.rowcount


def detections(db: Database, symbol: str, timeframe: str, start: str, end: str,
               visible_by: str, patterns: Sequence[str] | None, limit: int) -> list[sqlite3.Row]:
    """Return stored detections with ``start <= ts < end`` known by ``visible_by``, by time."""
    sql = ("SELECT id, symbol, timeframe, ts, visible_at, pattern, direction, value, strength, "
           "close_micros, tod_bucket FROM candle_detections WHERE symbol = ? AND timeframe = ? "
           "AND ts >= ? AND ts < ? AND visible_at <= ?")
    params: list[Any] = [symbol, timeframe, start, end, visible_by]
    if patterns:
        sql += f" AND pattern IN ({', '.join('?' * len(patterns))})"
        params.extend(patterns)
    sql += " ORDER BY ts, pattern LIMIT ?"
    params.append(limit)
    return db.fetch_all(sql, params)


def outcome_sums(db: Database, timeframe: str, as_of: str, grouping: str,
                 pattern: str | None = None, symbol: str | None = None,
                 horizon: int | None = None) -> list[sqlite3.Row]:
    """Return per group and horizon the running sums of outcomes available by ``as_of``.

    Raises:
        KeyError: for a grouping not in ``GROUPINGS``.
    """
    cols = GROUPINGS[grouping]
    where = ["d.timeframe = ?", "o.available_at <= ?"]
    params: list[Any] = [timeframe, as_of]
    if pattern is not None:
        where.append("d.pattern = ?")
        params.append(pattern)
    if symbol is not None:
        where.append("d.symbol = ?")
        params.append(symbol)
    if horizon is not None:
        where.append("o.horizon = ?")
        params.append(horizon)
    keys = ", ".join(f"{c} AS {c.split('.')[1]}" for c in cols)
    group = ", ".join(cols)
    sql = (f"SELECT {keys}, o.horizon AS horizon, COUNT(*) AS samples, "  # noqa: S608 - trusted columns
           "COUNT(CASE WHEN o.signed_ret > 0 THEN 1 END) AS wins, "
           "COUNT(CASE WHEN o.signed_ret < 0 THEN 1 END) AS losses, "
           "COALESCE(SUM(CASE WHEN o.signed_ret > 0 THEN o.signed_ret END), 0.0) AS sum_win, "
           "COALESCE(SUM(CASE WHEN o.signed_ret < 0 THEN o.signed_ret END), 0.0) AS sum_loss, "
           "COALESCE(SUM(o.ret), 0.0) AS sum_ret, COALESCE(SUM(o.signed_ret), 0.0) AS sum_signed, "
           "COALESCE(SUM(o.signed_ret * o.signed_ret), 0.0) AS sum_signed_sq "
           "FROM candle_outcomes o JOIN candle_detections d ON d.id = o.detection_id "
           f"WHERE {' AND '.join(where)} GROUP BY {group}, o.horizon ORDER BY {group}, o.horizon")
    return db.fetch_all(sql, params)
