"""SQL for the tables this service owns: news, news_symbols, news_fetch_log."""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Sequence
from typing import Any

from shared.db import Database

_COLS = ("headline", "summary", "author", "source", "url", "symbols", "created_at",
         "updated_at", "content", "sentiment_score", "sentiment_label", "dedup_key",
         "external_id", "origin", "event_type", "duplicate_count", "known_at", "ingested_at")
_INSERT = (f"INSERT INTO news ({', '.join(_COLS)}) "  # noqa: S608 - fixed column names
           f"VALUES ({', '.join('?' * len(_COLS))})")
_VISIBLE = "n.created_at <= ? AND n.known_at <= ?"


def by_key(conn: sqlite3.Connection, key: str, lo: str, hi: str) -> sqlite3.Row | None:
    """Return the story with this normalised-headline hash published in ``[lo, hi]``."""
    return conn.execute("SELECT * FROM news WHERE dedup_key = ? AND created_at BETWEEN ? AND ? "
                        "ORDER BY created_at, id LIMIT 1", (key, lo, hi)).fetchone()


def by_external_id(conn: sqlite3.Connection, external_id: str) -> sqlite3.Row | None:
    return conn.execute("SELECT * FROM news WHERE external_id = ?", (external_id,)).fetchone()


def candidates(conn: sqlite3.Connection, symbols: Sequence[str], lo: str, hi: str,
               limit: int = 500) -> list[sqlite3.Row]:
    """Return stories in ``[lo, hi]`` sharing a symbol (or, without symbols, any symbol-less one),
    oldest first (then by id): a near duplicate merges into the first similar one, and the
    engines return unordered rows in any order (PostgreSQL's DISTINCT by hash)."""
    if symbols:
        marks = ", ".join("?" * len(symbols))
        return conn.execute(
            "SELECT n.* FROM news n WHERE n.id IN (SELECT s.news_id FROM news_symbols s "  # noqa: S608
            f"WHERE s.symbol IN ({marks}) AND s.created_at BETWEEN ? AND ?) "
            "ORDER BY n.created_at, n.id LIMIT ?", (*symbols, lo, hi, limit)).fetchall()
    return conn.execute("SELECT * FROM news WHERE symbols = '[]' AND created_at BETWEEN ? AND ? "
                        "ORDER BY created_at, id LIMIT ?", (lo, hi, limit)).fetchall()


def insert(conn: sqlite3.Connection, values: dict[str, Any]) -> int:
    """Insert one article (``values`` keyed by column) and its symbol rows; return its id."""
    news_id = int(conn.execute(_INSERT + " RETURNING id",
                               tuple(values[c] for c in _COLS)).fetchone()[0])
    _link(conn, news_id, json.loads(values["symbols"]), values["created_at"], values["known_at"])
    return news_id


def _link(conn: sqlite3.Connection, news_id: int, symbols: Sequence[str], created_at: str,
          known_at: str) -> None:
    conn.execute("DELETE FROM news_symbols WHERE news_id = ?", (news_id,))
    conn.executemany("INSERT INTO news_symbols (news_id, symbol, created_at, known_at) "
                     "VALUES (?, ?, ?, ?)", [(news_id, s, created_at, known_at) for s in symbols])


def merge(conn: sqlite3.Connection, row: sqlite3.Row, symbols: Sequence[str], created_at: str,
          updated_at: str, known_at: str, count_duplicate: bool) -> None:
    """Fold a duplicate into ``row``: union of symbols, earliest times, one more duplicate."""
    syms = sorted(set(json.loads(row["symbols"])) | set(symbols))
    created = min(row["created_at"], created_at)
    known = min(row["known_at"], known_at)
    conn.execute(
        "UPDATE news SET symbols = ?, created_at = ?, known_at = ?, updated_at = ?, "
        "duplicate_count = duplicate_count + ? WHERE id = ?",
        (json.dumps(syms), created, known, max(row["updated_at"], updated_at),
         1 if count_duplicate else 0, row["id"]))
    _link(conn, int(row["id"]), syms, created, known)


def get(db: Database, news_id: int) -> sqlite3.Row | None:
    return db.fetch_one("SELECT * FROM news WHERE id = ?", (news_id,))


def recent(db: Database, now: str, symbol: str | None, since: str | None,
           limit: int) -> list[sqlite3.Row]:
    """Return the newest visible stories (on ``symbol``, since ``since``), newest first."""
    params: list[Any] = [now, now]
    if symbol:
        sql = ("SELECT n.* FROM news_symbols s JOIN news n ON n.id = s.news_id "  # noqa: S608
               f"WHERE s.symbol = ? AND {_VISIBLE}")
        params.insert(0, symbol)
    else:
        sql = f"SELECT n.* FROM news n WHERE {_VISIBLE}"  # noqa: S608 - constant fragment
    if since:
        sql += " AND n.created_at >= ?"
        params.append(since)
    sql += " ORDER BY n.created_at DESC, n.id DESC LIMIT ?"
    params.append(limit)
    return db.fetch_all(sql, params)


def symbol_scores(db: Database, symbol: str, lo: str, now: str) -> list[sqlite3.Row]:
    """Return (created_at, score, label) of the visible stories on ``symbol`` since ``lo``."""
    return db.fetch_all(
        "SELECT n.created_at, n.sentiment_score, n.sentiment_label FROM news_symbols s "  # noqa: S608
        "JOIN news n ON n.id = s.news_id WHERE s.symbol = ? AND s.created_at > ? "
        f"AND {_VISIBLE} ORDER BY n.created_at", (symbol, lo, now, now))


def stored_scores(db: Database) -> list[sqlite3.Row]:
    """Return (id, headline, summary, sentiment_score, sentiment_label) of every story."""
    return db.fetch_all("SELECT id, headline, summary, sentiment_score, sentiment_label "
                        "FROM news ORDER BY id")


def set_scores(conn: sqlite3.Connection, scores: Sequence[tuple[float, str, int]]) -> None:
    """Store (score, label, id) for each story."""
    conn.executemany("UPDATE news SET sentiment_score = ?, sentiment_label = ? WHERE id = ?",
                     scores)


def fetched_until(conn: sqlite3.Connection, origin: str, symbol: str) -> str | None:
    row = conn.execute("SELECT fetched_until FROM news_fetch_log WHERE origin = ? AND "
                       "symbol = ?", (origin, symbol)).fetchone()
    return None if row is None else str(row[0])


def set_fetched_until(conn: sqlite3.Connection, origin: str, symbol: str, until: str,
                      stamp: str) -> None:
    conn.execute(
        "INSERT INTO news_fetch_log (origin, symbol, fetched_until, updated_at) "
        "VALUES (?, ?, ?, ?) ON CONFLICT (origin, symbol) DO UPDATE SET "
        "fetched_until = excluded.fetched_until, updated_at = excluded.updated_at",
        (origin, symbol, until, stamp))
