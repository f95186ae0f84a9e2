"""SQL for ``scan_runs`` and ``scan_results`` (the scanner is their only writer)."""
from __future__ import annotations

import json
from typing import Any

from services.scanner.domain import Match
from shared.db import Database, UnitOfWork
from shared.domain.money import D, from_micros, money_str, to_micros


class ScanRepository:
    """Store scan runs with their ranked matches, and read the latest one back."""

    def __init__(self, db: Database) -> None:
        self.db = db

    def save(self, run: dict[str, Any], matches: list[Match]) -> None:
        """Store a run and its matches in one transaction (all or nothing).

        Raises:
            DatabaseBusyError: when the database stays locked past the retries.
        """
        rows = [(run["id"], rank, m.symbol, m.score, to_micros(D(str(m.price))),
                 json.dumps(m.metrics), json.dumps(m.explanation))
                for rank, m in enumerate(matches, start=1)]
        with UnitOfWork(self.db, "scan_save") as uow:
            uow.execute(
                "INSERT INTO scan_runs (id, clock_ts, preset, filters, universe_size, matched, "
                "duration_ms, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
                (run["id"], run["clock_ts"], run["preset"], json.dumps(run["filters"]),
                 run["universe_size"], run["matched"], run["duration_ms"], run["created_at"]))
            assert uow.conn is not None
            uow.conn.executemany(
                "INSERT INTO scan_results (run_id, rank, symbol, score, price_micros, metrics, "
                "explanation) VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
            uow.commit()

    def latest(self) -> dict[str, Any] | None:
        """Return the newest run (by clock time, then creation) with its results, or None."""
        run = self.db.fetch_one("SELECT * FROM scan_runs ORDER BY clock_ts DESC, created_at DESC "
                                "LIMIT 1")
        if run is None:
            return None
        out = dict(run)
        out["filters"] = json.loads(out["filters"])
        out["results"] = [
            {"rank": r["rank"], "symbol": r["symbol"], "score": r["score"],
             "price": money_str(from_micros(r["price_micros"])),
             "metrics": json.loads(r["metrics"]), "explanation": json.loads(r["explanation"])}
            for r in self.db.fetch_all("SELECT * FROM scan_results WHERE run_id = ? "
                                       "ORDER BY rank", (out["id"],))]
        return out
