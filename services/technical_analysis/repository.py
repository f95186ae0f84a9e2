"""SQL for the ``signals`` table (technical_analysis is its only writer)."""
from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

from shared.db import Database

_COLUMNS = ("symbol", "timeframe", "strategy", "kind", "direction", "score", "rule",
            "indicators", "bar_ts", "clock_ts", "created_at")


class SignalRepository:
    """Store and read strategy signals."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, rows: Sequence[dict[str, Any]]) -> int:
        """Insert signals in one transaction; a signal already stored for its bar is kept.

        Raises:
            DatabaseBusyError: when the database stays locked past the retries.
        """
        if not rows:
            return 0
        values = [tuple(json.dumps(r[c]) if c == "indicators" else r[c] for c in _COLUMNS)
                  for r in rows]
        return self.db.bulk_insert_with_transaction(
            "signals", values, _COLUMNS,
            on_conflict="(symbol, timeframe, strategy, bar_ts) DO NOTHING")

    def list(self, symbol: str, *, strategy: str | None = None, timeframe: str | None = None,
             since: datetime | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest signals of ``symbol`` first."""
        sql = ("SELECT symbol, timeframe, strategy, kind, direction, score, rule, indicators, "
               "bar_ts, clock_ts, created_at FROM signals WHERE symbol = ?")
        params: list[Any] = [symbol]
        if strategy:
            sql += " AND strategy = ?"
            params.append(strategy)
        if timeframe:
            sql += " AND timeframe = ?"
            params.append(timeframe)
        if since is not None:
            sql += " AND bar_ts >= ?"
            params.append(since.isoformat())
        sql += " ORDER BY bar_ts DESC, id DESC LIMIT ?"
        params.append(limit)
        out = []
        for r in self.db.fetch_all(sql, params):
            d = dict(r)
            d["indicators"] = json.loads(d["indicators"])
            out.append(d)
        return out
