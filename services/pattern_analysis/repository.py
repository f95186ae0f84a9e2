"""SQL for the pattern-analysis tables (this service is their one writer).

Float analytics become ``Decimal`` cents here, at the storage edge, and INTEGER micro-units
in SQLite; rows come back as plain dicts with ``Decimal`` prices and ISO times.
"""
from __future__ import annotations

import json
import math
import sqlite3
import threading
from collections.abc import Callable, Iterable
from decimal import Decimal
from functools import lru_cache
from typing import Any

import pandas as pd
from cachetools import LRUCache

from services.pattern_analysis.domain import Detection, Level
from shared.db import Database
from shared.domain.money import cents, from_micros, to_micros

_PRICE_FIELDS = ("neckline", "breakout_level", "target", "invalidation", "upper", "lower")
_PRICE_COLS = ("neckline_micros", "breakout_micros", "target_micros", "invalidation_micros",
               "upper_micros", "lower_micros")
_COLUMNS = ("id", "symbol", "timeframe", "pattern", "direction", "status", "start_ts", "end_ts",
            "confirmed_ts", "resolved_ts", "pivots", *_PRICE_COLS, "confidence", "measurements",
            "first_seen_at", "updated_at")

#: Entries of each formatting memo below (bar times, float prices, micro-unit prices).  The
#: memos only help rebuild rows that changed (unchanged rows come from the row caches), a few
#: hundred a batch, so a bound of a few batches is plenty.  They were 65,536 each, then 8,192:
#: new bar times and prices arrive every minute, so they filled for hours (~15 MB), then for
#: the first sessions of a replay (~5 MB), and the worker's memory rose with them.
MEMO_SIZE = 1 << 11
#: (symbol, timeframe) groups whose rows each row cache keeps at most (least recently used
#: dropped first).  The service also drops a symbol's rows when its kept window goes: idle
#: for a day, or pushed out by ``patterns.cache_max_mb`` (``retain``).
ROW_GROUPS = 1024


def iso(ts_ns: int | None) -> str | None:
    """Return int64 nanoseconds as ISO-8601 UTC with ``+00:00`` (the database format)."""
    return None if ts_ns is None else _iso(int(ts_ns))


@lru_cache(maxsize=MEMO_SIZE)
def _iso(ts_ns: int) -> str:
    # the same bar times are written again at every re-analysis: format each once
    return pd.Timestamp(ts_ns, tz="UTC").isoformat()


def ns(ts_iso: str | None) -> int | None:
    return None if ts_iso is None else int(pd.Timestamp(ts_iso).value)


def price_micros(x: float | None) -> int | None:
    """Return a float price rounded half-to-even to the cent, in micro-units."""
    if x is None or not math.isfinite(x):
        return None
    return _price_micros(x)


@lru_cache(maxsize=MEMO_SIZE)
def _price_micros(x: float) -> int:
    # Every re-analysis writes the same key prices again; the Decimal round trip costs ~3 us.
    # (0.0 and -0.0 share a cache entry: both are 0 micro-units.)
    return to_micros(cents(x))


def price(micros: int | None) -> Decimal | None:
    """Return micro-units as a 2-decimal ``Decimal`` (the API's price shape)."""
    return None if micros is None else _price(int(micros))


@lru_cache(maxsize=MEMO_SIZE)
def _price(micros: int) -> Decimal:
    # Decimals are immutable, so one object can serve every answer that shows this price.
    return cents(from_micros(micros))


def _clean(values: dict[str, float]) -> dict[str, float]:
    return {k: round(float(v), 6) for k, v in values.items() if math.isfinite(float(v))}


def detection_id(symbol: str, timeframe: str, det: Detection) -> str:
    return f"{symbol}:{timeframe}:{det.key}"


class PatternRepository:
    """Reads and writes ``chart_patterns``, ``chart_levels`` and ``chart_scan_state``."""

    def __init__(self, db: Database) -> None:
        self.db = db
        self._rows = _RowCache(ROW_GROUPS)  # detection and level rows to write
        self._stored = _RowCache(ROW_GROUPS)  # open detections read back as domain objects
        self._dicts = _RowCache(ROW_GROUPS)  # detections read back as the API shows them

    def retain(self, keys: set[tuple[str, str]]) -> None:
        """Drop the cached rows of every (symbol, timeframe) pair but these."""
        for cache in (self._rows, self._stored, self._dicts):
            cache.retain(keys)

    # -- writes (inside the caller's transaction) ----------------------------------------
    def upsert_detections(self, conn: sqlite3.Connection, symbol: str, timeframe: str,
                          dets: Iterable[Detection], at: str) -> int:
        """Insert new detections and move known ones on (status, end, prices, confidence)."""
        rows = [(*row, at, at) for row in self._rows.get_all(
            (symbol, timeframe, "detections"),
            [(detection_id(symbol, timeframe, d), d) for d in dets],
            lambda did, d: _detection_row(did, symbol, timeframe, d))]
        if not rows:
            return 0
        updates = ", ".join(f"{c}=excluded.{c}" for c in _COLUMNS
                            if c not in ("id", "symbol", "timeframe", "pattern", "first_seen_at"))
        # Column names come from the module constant _COLUMNS, never from input.
        sql = (f"INSERT INTO chart_patterns ({', '.join(_COLUMNS)}) "  # noqa: S608
               f"VALUES ({', '.join('?' * len(_COLUMNS))}) "
               f"ON CONFLICT (id) DO UPDATE SET {updates}")
        conn.executemany(sql, rows)
        return len(rows)

    def replace_levels(self, conn: sqlite3.Connection, symbol: str, timeframe: str,
                       levels: list[Level], as_of: str) -> None:
        conn.execute("DELETE FROM chart_levels WHERE symbol = ? AND timeframe = ?",
                     (symbol, timeframe))
        conn.executemany(
            "INSERT INTO chart_levels (symbol, timeframe, rank, kind, price_micros, low_micros, "
            "high_micros, touches, strength, first_ts, last_ts, touch_ts, measurements, as_of) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [(symbol, timeframe, i + 1, *row, as_of) for i, row in enumerate(self._rows.get_all(
                (symbol, timeframe, "levels"), [((lv.kind, lv.touch_ts), lv) for lv in levels],
                _level_row))])

    def save_state(self, conn: sqlite3.Connection, symbol: str, timeframe: str,
                   last_bar_ts: str | None, bars: int, last_close: float | None,
                   detections: int, at: str) -> None:
        conn.execute(
            "INSERT INTO chart_scan_state (symbol, timeframe, last_bar_ts, bars, "
            "last_close_micros, detections, analyzed_at) VALUES (?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT (symbol, timeframe) DO UPDATE SET last_bar_ts=excluded.last_bar_ts, "
            "bars=excluded.bars, last_close_micros=excluded.last_close_micros, "
            "detections=excluded.detections, analyzed_at=excluded.analyzed_at",
            (symbol, timeframe, last_bar_ts, bars, price_micros(last_close), detections, at))

    # -- reads ---------------------------------------------------------------------------
    def state(self, symbol: str, timeframe: str) -> dict[str, Any] | None:
        row = self.db.fetch_one(
            "SELECT last_bar_ts, bars, last_close_micros, detections, analyzed_at "
            "FROM chart_scan_state WHERE symbol = ? AND timeframe = ?", (symbol, timeframe))
        if row is None:
            return None
        return {"last_bar_ts": row["last_bar_ts"], "bars": row["bars"],
                "last_close": price(row["last_close_micros"]), "detections": row["detections"],
                "analyzed_at": row["analyzed_at"]}

    def open_detections(self, symbol: str, timeframe: str) -> list[sqlite3.Row]:
        return self.db.fetch_all(
            "SELECT * FROM chart_patterns WHERE symbol = ? AND timeframe = ? "
            "AND status IN ('forming', 'active', 'confirmed')", (symbol, timeframe))

    def open_detection_objects(self, symbol: str, timeframe: str
                               ) -> list[tuple[str, Detection]]:
        """Return the stored open detections as (id, ``Detection``) (see ``row_to_detection``).

        Most of them are read back unchanged call after call: each distinct row is parsed once.
        """
        rows = {r["id"]: r for r in self.open_detections(symbol, timeframe)}
        return list(zip(rows, self._stored.get_all(
            (symbol, timeframe), [(k, tuple(r)) for k, r in rows.items()],
            lambda k, _v: row_to_detection(rows[k])), strict=True))

    def detections(self, symbol: str, timeframe: str, *, statuses: list[str] | None = None,
                   patterns: list[str] | None = None, min_confidence: float = 0.0,
                   limit: int = 200) -> list[dict[str, Any]]:
        """Return stored detections, newest first, filtered as asked."""
        sql = ("SELECT * FROM chart_patterns WHERE symbol = ? AND timeframe = ? "
               "AND confidence >= ?")
        params: list[Any] = [symbol, timeframe, min_confidence]
        for col, values in (("status", statuses), ("pattern", patterns)):
            if values:
                sql += f" AND {col} IN ({', '.join('?' * len(values))})"
                params.extend(values)
        # the stable id breaks ties: the engines return tied rows in any order, and the
        # cycle scores this page and stops at the first of equally confident patterns
        sql += " ORDER BY start_ts DESC, pattern, id LIMIT ?"
        params.append(limit)
        # Answers repeat most rows call after call: each distinct row's JSON is parsed once,
        # and every answer gets its own copy of the containers.  One group per query: a page
        # of 20 and one of 200 do not push each other's rows out.
        rows = {r["id"]: r for r in self.db.fetch_all(sql, params)}
        group = (symbol, timeframe, tuple(statuses or ()), tuple(patterns or ()),
                 min_confidence, limit)
        return [_copied(d) for d in self._dicts.get_all(
            group, [(k, tuple(r)) for k, r in rows.items()],
            lambda k, _v: detection_dict(rows[k]))]

    def levels(self, symbol: str, timeframe: str) -> list[dict[str, Any]]:
        rows = self.db.fetch_all(
            "SELECT * FROM chart_levels WHERE symbol = ? AND timeframe = ? ORDER BY rank",
            (symbol, timeframe))
        return [{"rank": r["rank"], "kind": r["kind"], "price": price(r["price_micros"]),
                 "low": price(r["low_micros"]), "high": price(r["high_micros"]),
                 "touches": r["touches"], "strength": r["strength"], "first_ts": r["first_ts"],
                 "last_ts": r["last_ts"], "touch_ts": json.loads(r["touch_ts"]),
                 "measurements": json.loads(r["measurements"]), "as_of": r["as_of"]}
                for r in rows]


class _RowCache:
    """The values last built for a group's items, reused while what each was built from is
    identical.

    Re-analysis every minute finds mostly the detections and levels it found the minute
    before; their database rows (JSON, ISO times, cent-rounded micro-units) are rebuilt only
    when they changed.  "Identical" is stricter than ``==``: ``0.0 == -0.0`` and dicts compare
    equal in any key order, yet JSON tells them apart.

    A group (a symbol and timeframe, maybe a query) keeps only the items of its last call:
    a detection that resolved, a level whose touches changed or a row that left a page is
    never asked for again.  Keyed by item in one LRU of 16,384, every item ever built stayed
    until that filled (hours of replay), and pattern analysis's worker grew by ~2.5 MB a
    minute of replay.  Groups are in an LRU of ``max_groups``; ``retain`` drops the others'.
    """

    def __init__(self, max_groups: int) -> None:
        self._groups: LRUCache[Any, dict[Any, tuple[Any, tuple[Any, ...], Any]]] = \
            LRUCache(max_groups)
        self._lock = threading.Lock()

    def get_all(self, group: Any, items: list[tuple[Any, Any]],
                build: Callable[[Any, Any], Any]) -> list[Any]:
        """Return ``build(key, source)`` of each (key, source), reusing the group's last."""
        with self._lock:
            old = self._groups.get(group) or {}
        kept: dict[Any, tuple[Any, tuple[Any, ...], Any]] = {}
        out = []
        for key, source in items:
            sig = _signature(source)
            hit = old.get(key)
            if hit is None or hit[1] != sig or hit[0] != source:
                hit = (source, sig, build(key, source))
            kept[key] = hit
            out.append(hit[2])
        with self._lock:
            self._groups[group] = kept
        return out

    def retain(self, pairs: set[tuple[str, str]]) -> None:
        """Drop the groups of every (symbol, timeframe) pair but these."""
        with self._lock:
            for group in [g for g in self._groups if g[:2] not in pairs]:
                del self._groups[group]


def _signature(obj: Any) -> tuple[Any, ...]:
    """Return what ``==`` misses about ``obj``: its measurements' key order and zero signs."""
    if isinstance(obj, tuple):
        return tuple(math.copysign(1.0, v) for v in obj if isinstance(v, float) and v == 0)
    meas = getattr(obj, "measurements", None)
    if meas is None:
        return ()
    floats = [*meas.values(), getattr(obj, "confidence", 1.0), getattr(obj, "strength", 1.0)]
    return (tuple(meas), tuple(math.copysign(1.0, v) for v in floats if v == 0))


def _detection_row(did: str, symbol: str, timeframe: str, d: Detection) -> tuple[Any, ...]:
    """Return a detection's ``chart_patterns`` row but for ``first_seen_at``/``updated_at``."""
    pivots = [{"name": n, "ts": iso(t), "price_micros": price_micros(p)} for n, t, p in d.pivots]
    return (did, symbol, timeframe, d.pattern, d.direction.value, d.status.value,
            iso(d.start_ts), iso(d.end_ts), iso(d.confirmed_ts), iso(d.resolved_ts),
            json.dumps(pivots), *(price_micros(getattr(d, f)) for f in _PRICE_FIELDS),
            float(d.confidence), json.dumps(_clean(d.measurements)))


def _level_row(_key: Any, lv: Level) -> tuple[Any, ...]:
    """Return a level's ``chart_levels`` columns from ``kind`` to ``measurements``."""
    return (lv.kind, price_micros(lv.price), price_micros(lv.low), price_micros(lv.high),
            lv.touches, float(lv.strength), iso(lv.first_ts), iso(lv.last_ts),
            json.dumps([iso(t) for t in lv.touch_ts]), json.dumps(_clean(lv.measurements)))


def detection_dict(r: sqlite3.Row) -> dict[str, Any]:
    """Return a stored detection as the API shows it (prices as 2-decimal ``Decimal``)."""
    return {
        "id": r["id"], "symbol": r["symbol"], "timeframe": r["timeframe"],
        "pattern": r["pattern"], "direction": r["direction"], "status": r["status"],
        "start_ts": r["start_ts"], "end_ts": r["end_ts"], "confirmed_ts": r["confirmed_ts"],
        "resolved_ts": r["resolved_ts"],
        "pivots": [{"name": p["name"], "ts": p["ts"], "price": price(p["price_micros"])}
                   for p in json.loads(r["pivots"])],
        "key_prices": {f: price(r[c]) for f, c in zip(_PRICE_FIELDS, _PRICE_COLS, strict=True)},
        "confidence": r["confidence"], "measurements": json.loads(r["measurements"]),
        "first_seen_at": r["first_seen_at"], "updated_at": r["updated_at"],
    }


def _copied(d: dict[str, Any]) -> dict[str, Any]:
    """Return ``detection_dict``'s answer with fresh containers (callers may change theirs)."""
    return {**d, "pivots": [dict(p) for p in d["pivots"]], "key_prices": dict(d["key_prices"]),
            "measurements": dict(d["measurements"])}


def row_to_detection(r: sqlite3.Row) -> Detection:
    """Return a stored row as a domain ``Detection`` (for re-checking it on newer bars)."""
    from services.pattern_analysis.domain import Direction, Status

    def f(col: str) -> float | None:
        return None if r[col] is None else r[col] / 1e6

    pivots = tuple((p["name"], ns(p["ts"]), (p["price_micros"] or 0) / 1e6)
                   for p in json.loads(r["pivots"]))
    return Detection(
        pattern=r["pattern"], direction=Direction(r["direction"]), status=Status(r["status"]),
        start_ts=ns(r["start_ts"]), end_ts=ns(r["end_ts"]), pivots=pivots,
        confidence=r["confidence"], measurements=json.loads(r["measurements"]),
        neckline=f("neckline_micros"), breakout_level=f("breakout_micros"),
        target=f("target_micros"), invalidation=f("invalidation_micros"),
        upper=f("upper_micros"), lower=f("lower_micros"),
        confirmed_ts=ns(r["confirmed_ts"]), resolved_ts=ns(r["resolved_ts"]))
