"""Bars in the shared database: upserts (never duplicates), reads, ingest log, coverage.

Prices cross the boundary as int64 micro-units (vectorised; prices are cents-exact floats or
exact decimals from providers).  Every write of a batch, its ingest-log row, its rejects and
its coverage runs in one ``BEGIN IMMEDIATE`` transaction.
"""
from __future__ import annotations

import json
import sqlite3
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from itertools import repeat
from typing import Any

import numpy as np
import pandas as pd

from shared.db import Database
from shared.market.calendar import to_utc
from shared.market.frames import (
    BarArrays,
    empty_arrays,
    iso,
    micros,
)
from shared.market.symbols import SymbolInfo
from shared.market.validation import ValidationReport
from shared.sqlcompat import epoch_seconds_sql, is_sqlite

_COLS = ("symbol", "timeframe", "ts", "open_micros", "high_micros", "low_micros",
         "close_micros", "volume", "vwap_micros", "trade_count", "source")
_UPSERT = (
    "INSERT INTO bars (symbol, timeframe, ts, open_micros, high_micros, low_micros, "
    "close_micros, volume, vwap_micros, trade_count, source) "
    "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
    "ON CONFLICT (symbol, timeframe, ts) DO UPDATE SET open_micros=excluded.open_micros, "
    "high_micros=excluded.high_micros, low_micros=excluded.low_micros, "
    "close_micros=excluded.close_micros, volume=excluded.volume, "
    "vwap_micros=excluded.vwap_micros, trade_count=excluded.trade_count, "
    "source=excluded.source")

# PostgreSQL: the rows COPY'd into a temporary table, then one upsert from it.  psycopg's
# executemany sends a statement per row and array parameters are quoted in Python: a session
# of 500 symbols' minutes took 10-20 s either way (COPY: ~1.5 s), the write lock held meanwhile.
_PG_STAGE = ("CREATE TEMP TABLE IF NOT EXISTS bars_in (LIKE bars INCLUDING DEFAULTS) "
             "ON COMMIT DELETE ROWS")
_PG_COPY = f"COPY bars_in ({', '.join(_COLS)}) FROM STDIN"
_PG_MERGE = (
    f"INSERT INTO bars ({', '.join(_COLS)}) SELECT {', '.join(_COLS)} FROM bars_in "  # noqa: S608 - constant names
    + _UPSERT[_UPSERT.index("ON CONFLICT"):])


_COPY_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class StagedRows(bytes):
    """Bar rows already in COPY's text format (PostgreSQL), made by ``stage_rows``."""


def _copy_field(v: Any) -> str:
    if v is None:
        return "\\N"
    return v.translate(_COPY_ESCAPES) if isinstance(v, str) else str(v)


def stage_rows(rows: Iterable[tuple[Any, ...]]) -> StagedRows:
    """Return bar rows (in ``_COLS`` order) as COPY text, a repeated key keeping its last row
    (one statement may not update a row twice; SQLite's one statement per row leaves the last).

    Made before the write transaction: on PostgreSQL every write takes one advisory lock,
    and turning 40,000 rows into COPY text in Python held it for most of a write.
    """
    last = {r[:3]: r for r in rows}
    return StagedRows("".join("\t".join(map(_copy_field, r)) + "\n"
                              for r in last.values()).encode())


def upsert_bars(conn: Any, rows: Iterable[tuple[Any, ...]] | StagedRows) -> None:
    """Insert or update bar rows (in ``_COLS`` order, or staged by ``stage_rows`` for
    PostgreSQL) inside the caller's transaction."""
    if is_sqlite(conn):
        conn.executemany(_UPSERT, rows)
        return
    staged = rows if isinstance(rows, StagedRows) else stage_rows(rows)
    if not staged:
        return
    raw = conn.raw  # the psycopg connection, in the caller's transaction
    raw.execute(_PG_STAGE)  # empty: its rows go at commit, and with a rolled-back attempt
    with raw.cursor().copy(_PG_COPY) as copy:
        copy.write(staged)
    raw.execute(_PG_MERGE)


#: Symbols per batched read: well under SQLite's bound-parameter limit.
READ_CHUNK = 400
# Integers only (times as epoch seconds, NULLs as -1): numpy takes the rows in one call.
_READ_COLS = ("{ts}, b.open_micros, b.high_micros, b.low_micros, b.close_micros, "
              "b.volume, COALESCE(b.vwap_micros, -1), COALESCE(b.trade_count, -1)")
_NS = 1_000_000_000
_FETCH_ROWS = 32_768


def iso_ts(value: object) -> str:
    return to_utc(value).strftime("%Y-%m-%dT%H:%M:%S+00:00")


def _columns(cur: sqlite3.Cursor) -> np.ndarray:
    """Return the cursor's rows of nine integers as a (9, rows) int64 array.

    Taken ``_FETCH_ROWS`` rows at a time: ``fetchall`` of a batched read (500 symbols x
    weeks of 5m bars: ~500k rows) built ~200 MB of Python tuples and ints for a 40 MB array.
    Each row of the result is contiguous (TA-Lib wants that of the columns sliced from it).
    """
    blocks = []
    while batch := cur.fetchmany(_FETCH_ROWS):
        blocks.append(np.array(batch, dtype="int64").reshape(-1, 9).T)
    if not blocks:
        return np.empty((9, 0), dtype="int64")
    return np.ascontiguousarray(np.concatenate(blocks, axis=1))


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def _rows(symbol: str, timeframe: str, df: pd.DataFrame, source: str) -> list[tuple[Any, ...]]:
    n = len(df)
    vw = df["vwap"].to_numpy(dtype="float64", na_value=np.nan) if "vwap" in df else np.full(n, np.nan)
    vw_m = micros(np.nan_to_num(vw)).tolist()
    vw_list = [None if np.isnan(x) else m for x, m in zip(vw, vw_m, strict=False)]
    if "trade_count" in df:
        tc = [None if pd.isna(x) else int(x) for x in df["trade_count"].tolist()]
    else:
        tc = [None] * n
    return list(zip(
        [symbol] * n, [timeframe] * n, iso(df.index.as_unit("ns").asi8),
        micros(df["open"].to_numpy()).tolist(), micros(df["high"].to_numpy()).tolist(),
        micros(df["low"].to_numpy()).tolist(), micros(df["close"].to_numpy()).tolist(),
        df["volume"].to_numpy(dtype="int64").tolist(), vw_list, tc, [source] * n, strict=False))


class BarStore:
    """The market tables of one database, seen through ``Database``."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- writes --------------------------------------------------------------------------
    def store_batch(self, symbol: str, timeframe: str, report: ValidationReport, source: str,
                    coverage: tuple[object, object] | None = None) -> int:
        """Upsert the valid rows, log the batch and its rejects; return rows stored."""
        rows = _rows(symbol, timeframe, report.valid, source)
        rejects = report.rejects
        now = _now()
        s = iso_ts(report.valid.index[0]) if len(report.valid) else None
        e = iso_ts(report.valid.index[-1]) if len(report.valid) else None
        staged = rows if is_sqlite(self.db) else stage_rows(rows)

        def write(conn: sqlite3.Connection) -> int:
            if rows:
                upsert_bars(conn, staged)
            cur = conn.execute(
                "INSERT INTO market_ingest_log (symbol, timeframe, source, start_ts, end_ts, "
                "rows_in, rows_stored, rows_rejected, gaps, quality, at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id",
                (symbol, timeframe, source, s, e, report.rows_in, len(rows),
                 report.rows_rejected, report.gaps, float(report.quality), now))
            ingest_id = int(cur.fetchone()[0])
            if len(rejects):
                conn.executemany(
                    "INSERT INTO bar_rejects (ingest_id, symbol, timeframe, ts, reason, raw, at) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    [(ingest_id, symbol, timeframe, iso_ts(ts), r["reason"],
                      json.dumps({k: str(v) for k, v in r.items()}), now)
                     for ts, r in zip(rejects.index, rejects.to_dict("records"), strict=False)])
            if coverage is not None:
                self._add_coverage(conn, symbol, timeframe, coverage[0], coverage[1], source)
            return len(rows)

        return self.db.run_in_transaction(write, "market:store_batch")

    def store_many(self, frames: Iterable[tuple[str, pd.DataFrame]], timeframe: str,
                   source: str) -> int:
        """Upsert many symbols' already-validated bars in one transaction (bulk loads)."""
        rows: list[tuple[Any, ...]] = []
        for symbol, df in frames:
            rows.extend(_rows(symbol, timeframe, df, source))

        staged = rows if is_sqlite(self.db) else stage_rows(rows)

        def write(conn: sqlite3.Connection) -> int:
            upsert_bars(conn, staged)
            return len(rows)

        return self.db.run_in_transaction(write, "market:store_many")

    def store_arrays(self, symbols: tuple[str, ...], ts_ns: np.ndarray, o: np.ndarray,
                     h: np.ndarray, lo: np.ndarray, c: np.ndarray, v: np.ndarray,
                     vwap: np.ndarray, n: np.ndarray, timeframe: str, source: str,
                     coverage: tuple[object, object] | None = None) -> int:
        """Upsert (symbols x bars) arrays in one transaction: the fast path for whole sessions.

        Rows are made a symbol at a time while SQLite takes them: a list of every row (a
        backfill of 500 symbols x weeks of bars is ~500k rows of Python ints and tuples)
        peaked at hundreds of MB, and the freed objects left the heap fragmented.
        """
        S, T = o.shape
        ts = iso(ts_ns)
        cols = [micros(o), micros(h), micros(lo), micros(c), v.astype("int64"),
                micros(np.nan_to_num(vwap)), n.astype("int64")]
        vw_nan = np.isnan(vwap)  # unknown VWAP (a bar without volume) is stored as NULL

        # A block of symbols at a time (each column flattened in one call): a replay step
        # stores one bar for each of hundreds of symbols, where per-symbol calls dominated.
        per = max(1, _FETCH_ROWS // max(T, 1))

        def rows() -> Iterator[tuple[Any, ...]]:
            for a in range(0, S, per):
                b = min(S, a + per)
                o_, h_, lo_, c_, v_, vw, n_ = (col[a:b].ravel().tolist() for col in cols)
                nan = vw_nan[a:b].ravel()
                if nan.any():
                    vw = [None if m else x for x, m in zip(vw, nan.tolist(), strict=True)]
                syms = [sym for sym in symbols[a:b] for _ in range(T)]
                yield from zip(syms, repeat(timeframe), ts * (b - a), o_, h_, lo_, c_, v_, vw,
                               n_, repeat(source))

        # PostgreSQL: the rows as COPY text before the write lock (SQLite takes them lazily)
        staged = None if is_sqlite(self.db) else stage_rows(rows())

        def write(conn: sqlite3.Connection) -> int:
            upsert_bars(conn, rows() if staged is None else staged)  # a fresh generator a try
            if coverage is not None:
                self._add_coverage_many(conn, symbols, timeframe, coverage[0], coverage[1],
                                        source)
            return S * T

        return self.db.run_in_transaction(write, "market:store_arrays")

    # -- coverage ------------------------------------------------------------------------
    @staticmethod
    def _add_coverage(conn: sqlite3.Connection, symbol: str, timeframe: str, start: object,
                      end: object, source: str) -> None:
        s, e = iso_ts(start), iso_ts(end)
        if s >= e:
            return
        rows = conn.execute(
            "SELECT start_ts, end_ts FROM bar_coverage WHERE symbol = ? AND timeframe = ? "
            "AND start_ts <= ? AND end_ts >= ?", (symbol, timeframe, e, s)).fetchall()
        for r in rows:
            s, e = min(s, r[0]), max(e, r[1])
        conn.execute("DELETE FROM bar_coverage WHERE symbol = ? AND timeframe = ? "
                     "AND start_ts <= ? AND end_ts >= ?", (symbol, timeframe, e, s))
        conn.execute("INSERT INTO bar_coverage (symbol, timeframe, start_ts, end_ts, source, "
                     "fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                     (symbol, timeframe, s, e, source, _now()))

    @staticmethod
    def _add_coverage_many(conn: sqlite3.Connection, symbols: Iterable[str], timeframe: str,
                           start: object, end: object, source: str) -> None:
        """Do ``_add_coverage`` for many symbols sharing one span, in a few statements.

        The same rows result as one ``_add_coverage`` per symbol (each symbol's spans are
        merged and replaced independently); a replay step stores one bar for each of
        hundreds of symbols, where three statements per symbol cost more than the bars.
        """
        s, e = iso_ts(start), iso_ts(end)
        syms = list(dict.fromkeys(symbols))
        if s >= e or not syms:
            return
        merged = {sym: (s, e) for sym in syms}
        for k in range(0, len(syms), READ_CHUNK):
            chunk = syms[k:k + READ_CHUNK]
            marks = ",".join("?" * len(chunk))
            for sym, a, b in conn.execute(
                    f"SELECT symbol, start_ts, end_ts FROM bar_coverage WHERE symbol IN ({marks}) "  # noqa: S608 - placeholders only
                    "AND timeframe = ? AND start_ts <= ? AND end_ts >= ?",
                    (*chunk, timeframe, e, s)):
                lo, hi = merged[sym]
                merged[sym] = (min(lo, a), max(hi, b))
        conn.executemany("DELETE FROM bar_coverage WHERE symbol = ? AND timeframe = ? "
                         "AND start_ts <= ? AND end_ts >= ?",
                         [(sym, timeframe, hi, lo) for sym, (lo, hi) in merged.items()])
        now = _now()
        conn.executemany("INSERT INTO bar_coverage (symbol, timeframe, start_ts, end_ts, source, "
                         "fetched_at) VALUES (?, ?, ?, ?, ?, ?)",
                         [(sym, timeframe, lo, hi, source, now)
                          for sym, (lo, hi) in merged.items()])

    def missing_ranges(self, symbol: str, timeframe: str, start: object,
                       end: object) -> list[tuple[pd.Timestamp, pd.Timestamp]]:
        """Return the parts of ``[start, end)`` not yet fetched for this symbol and timeframe."""
        s, e = iso_ts(start), iso_ts(end)
        rows = self.db.fetch_all(
            "SELECT start_ts, end_ts FROM bar_coverage WHERE symbol = ? AND timeframe = ? "
            "AND start_ts < ? AND end_ts > ? ORDER BY start_ts", (symbol, timeframe, e, s))
        out, cur = [], s
        for r in rows:
            if r[0] > cur:
                out.append((cur, r[0]))
            cur = max(cur, r[1])
        if cur < e:
            out.append((cur, e))
        return [(to_utc(a), to_utc(b)) for a, b in out]

    # -- reads ---------------------------------------------------------------------------
    def covered_gaps(self, symbols: Iterable[str], timeframe: str, start: str, end: str
                     ) -> dict[str, list[tuple[str, str]]]:
        """Return, per symbol, the parts of ``[start, end)`` (ISO texts) not fetched yet.

        One query per chunk of symbols; symbols fully covered are left out.
        """
        syms = list(symbols)
        out: dict[str, list[tuple[str, str]]] = {}
        if start >= end:
            return out
        conn = self.db.get_db_connection()
        for k in range(0, len(syms), READ_CHUNK):
            chunk = syms[k:k + READ_CHUNK]
            marks = ",".join("?" * len(chunk))
            rows = conn.execute(
                f"SELECT symbol, start_ts, end_ts FROM bar_coverage WHERE symbol IN ({marks}) "  # noqa: S608 - placeholders only
                "AND timeframe = ? AND start_ts < ? AND end_ts > ? ORDER BY symbol, start_ts",
                (*chunk, timeframe, end, start)).fetchall()
            spans: dict[str, list[tuple[str, str]]] = {}
            for sym, a, b in rows:
                spans.setdefault(sym, []).append((a, b))
            for sym in chunk:
                gaps, cur = [], start
                for a, b in spans.get(sym, ()):
                    if a > cur:
                        gaps.append((cur, a))
                    cur = max(cur, b)
                if cur < end:
                    gaps.append((cur, end))
                if gaps:
                    out[sym] = gaps
        return out

    def read_arrays(self, symbols: Iterable[str], timeframe: str, start: str, end: str
                    ) -> dict[str, BarArrays]:
        """Return the stored bars with ``start <= ts < end`` (ISO texts) of many symbols.

        One indexed query per chunk of ``READ_CHUNK`` symbols (a join of the primary key with
        the list of symbols), rows taken into numpy a block at a time.  Every symbol gets an entry,
        empty when nothing is stored.
        """
        syms = list(dict.fromkeys(symbols))
        conn = self.db.get_db_connection()
        cols = _READ_COLS.format(ts=epoch_seconds_sql(conn, "b.ts"))
        out: dict[str, BarArrays] = {}
        for k in range(0, len(syms), READ_CHUNK):
            chunk = syms[k:k + READ_CHUNK]
            if len(chunk) == 1:
                c = _columns(conn.execute(
                    f"SELECT 0, {cols} FROM bars b WHERE b.symbol = ? AND b.timeframe = ? "  # noqa: S608 - constant columns
                    "AND b.ts >= ? AND b.ts < ? ORDER BY b.ts",
                    (chunk[0], timeframe, start, end)))
                srcs = conn.execute(
                    "SELECT 0, source FROM bars WHERE symbol = ? AND timeframe = ? AND ts >= ? "
                    "AND ts < ? ORDER BY ts DESC LIMIT 1",
                    (chunk[0], timeframe, start, end)).fetchall() if c.shape[1] else []
            else:
                req = ",".join(["(?, ?)"] * len(chunk))
                params = [x for i, s in enumerate(chunk) for x in (i, s)]
                # SQLite's CROSS JOIN keeps the symbol list as the outer loop, so rows come out
                # grouped by symbol and in time order along the primary key (checked below;
                # PostgreSQL's CROSS JOIN takes no ON: a plain join, sorted below if need be).
                join = "CROSS JOIN" if is_sqlite(conn) else "JOIN"
                c = _columns(conn.execute(
                    f"WITH req(i, s) AS (VALUES {req}) SELECT req.i, {cols} FROM req "  # noqa: S608 - placeholders only
                    f"{join} bars b ON b.symbol = req.s AND b.timeframe = ? AND b.ts >= ? "
                    "AND b.ts < ?", (*params, timeframe, start, end)))
                srcs = conn.execute(
                    f"WITH req(i, s) AS (VALUES {req}) SELECT req.i, (SELECT source FROM bars "  # noqa: S608 - placeholders only
                    "WHERE symbol = req.s AND timeframe = ? AND ts >= ? AND ts < ? "
                    "ORDER BY ts DESC LIMIT 1) FROM req", (*params, timeframe, start, end)
                ).fetchall()
            source = {int(i): s or "database" for i, s in srcs}
            if c.shape[1] > 1:
                same = c[0, 1:] == c[0, :-1]
                if (c[0, 1:] < c[0, :-1]).any() or (same & (c[1, 1:] <= c[1, :-1])).any():
                    c = c[:, np.lexsort((c[1], c[0]))]  # not in the expected order: sort
            bounds = np.searchsorted(c[0], np.arange(len(chunk) + 1))
            ts = c[1] * _NS
            prices = np.round(c[2:6] / 1e6, 6)
            vw = np.round(c[7] / 1e6, 6)
            vw[c[7] < 0] = np.nan
            # Own rows for the two int columns: slices of ``c`` would keep all nine of its
            # columns alive for as long as any symbol's bars are kept (caches hold them).
            volume, trades = c[6].copy(), c[8].copy()
            del c
            for i, sym in enumerate(chunk):
                lo, hi = int(bounds[i]), int(bounds[i + 1])
                if lo == hi:
                    out[sym] = empty_arrays("database")
                    continue
                out[sym] = BarArrays(ts[lo:hi], prices[0, lo:hi], prices[1, lo:hi],
                                     prices[2, lo:hi], prices[3, lo:hi], volume[lo:hi],
                                     vw[lo:hi], trades[lo:hi], source.get(i, "database"))
        return out

    def count(self, symbol: str | None = None, timeframe: str | None = None) -> int:
        sql, params = "SELECT COUNT(*) FROM bars WHERE 1=1", []
        if symbol:
            sql += " AND symbol = ?"
            params.append(symbol)
        if timeframe:
            sql += " AND timeframe = ?"
            params.append(timeframe)
        return int(self.db.fetch_one(sql, params)[0])

    def rejects(self, symbol: str | None = None) -> list[dict[str, Any]]:
        sql = "SELECT symbol, timeframe, ts, reason, raw FROM bar_rejects"
        rows = (self.db.fetch_all(sql + " WHERE symbol = ? ORDER BY id", (symbol,)) if symbol
                else self.db.fetch_all(sql + " ORDER BY id"))
        return [dict(r) for r in rows]

    def freshness(self) -> dict[str, Any]:
        row = self.db.fetch_one(
            "SELECT MAX(end_ts) AS last_bar, MAX(at) AS last_ingest, COUNT(*) AS batches, "
            "CAST(COALESCE(SUM(rows_rejected), 0) AS BIGINT) AS rejected, "
            "AVG(quality) AS quality "
            "FROM market_ingest_log")
        return dict(row) if row else {}

    # -- universe ------------------------------------------------------------------------
    def upsert_symbols(self, infos: Iterable[SymbolInfo], source: str) -> int:
        now = _now()
        rows = [(i.symbol, i.name, i.sector, i.asset_class, i.exchange, i.regime,
                 int(i.shortable), int(i.fractionable), int(i.tradable), source, now)
                for i in infos]

        def write(conn: sqlite3.Connection) -> int:
            conn.executemany(
                "INSERT INTO symbols (symbol, name, sector, asset_class, exchange, regime, "
                "shortable, fractionable, tradable, source, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (symbol) DO NOTHING", rows)
            return len(rows)

        return self.db.run_in_transaction(write, "market:symbols")

    def symbols(self, asset_class: str | None = None) -> list[dict[str, Any]]:
        if asset_class:
            rows = self.db.fetch_all("SELECT * FROM symbols WHERE asset_class = ? ORDER BY symbol",
                                     (asset_class,))
        else:
            rows = self.db.fetch_all("SELECT * FROM symbols ORDER BY symbol")
        return [dict(r) for r in rows]
