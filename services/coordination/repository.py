"""SQL for coordination's tables: runs, steps, decision ledger, strategy settings, lease."""
from __future__ import annotations

import json
import time
from datetime import UTC, datetime
from typing import Any

from shared.db import Database


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _j(value: Any) -> str | None:
    return None if value is None else json.dumps(value, default=str, sort_keys=True)


def _row(r: Any, json_cols: tuple[str, ...] = ()) -> dict[str, Any]:
    d = dict(r)
    for c in json_cols:
        if d.get(c) is not None:
            d[c] = json.loads(d[c])
    return d


RUN_JSON = ("degraded", "summary")
STEP_JSON = ("inputs", "outputs")
LEDGER_JSON = ("scan", "signals", "patterns", "sentiment", "sizing", "degraded")


class Repository:
    """Reads and writes of coordination's own tables (each write one short transaction)."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- runs and steps -------------------------------------------------------------------
    def start_run(self, run_id: str, trigger: str, clock_ts: str) -> None:
        with self.db.transaction("coord:run") as c:
            c.execute("INSERT INTO coord_runs (id, trigger, clock_ts, started_at, status) "
                      "VALUES (?, ?, ?, ?, 'running')", (run_id, trigger, clock_ts, _now()))

    def finish_run(self, run_id: str, *, status: str, duration_ms: float, degraded: list[str],
                   summary: dict[str, Any], error: str | None,
                   steps: list[dict[str, Any]]) -> None:
        """Write the run's outcome and all its steps in one transaction."""
        with self.db.transaction("coord:run_finish") as c:
            c.executemany(
                "INSERT INTO coord_steps (run_id, seq, name, started_at, duration_ms, status, "
                "inputs, outputs, error) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                [(run_id, i, s["name"], s["started_at"], s["duration_ms"], s["status"],
                  _j(s.get("inputs")), _j(s.get("outputs")), s.get("error"))
                 for i, s in enumerate(steps)])
            c.execute("UPDATE coord_runs SET status = ?, duration_ms = ?, degraded = ?, "
                      "summary = ?, error = ? WHERE id = ?",
                      (status, duration_ms, _j(degraded), _j(summary), error, run_id))

    def runs(self, limit: int, status: str | None = None,
             market_run: int | None = None) -> list[dict[str, Any]]:
        """Return workflow runs by market run (the newest run's first), then newest first:
        a rewound clock's runs have earlier clock times than the closed run's."""
        where, params = [], []
        if status:
            where.append("status = ?")
            params.append(status)
        if market_run is not None:
            where.append("market_run = ?")
            params.append(market_run)
        sql = "SELECT * FROM coord_runs"
        if where:  # fixed fragments, values bound
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY market_run DESC, clock_ts DESC, started_at DESC LIMIT ?"
        params.append(limit)
        return [_row(r, RUN_JSON) for r in self.db.fetch_all(sql, params)]

    def run(self, run_id: str) -> dict[str, Any] | None:
        r = self.db.fetch_one("SELECT * FROM coord_runs WHERE id = ?", (run_id,))
        if r is None:
            return None
        out = _row(r, RUN_JSON)
        out["steps"] = [_row(s, STEP_JSON) for s in self.db.fetch_all(
            "SELECT * FROM coord_steps WHERE run_id = ? ORDER BY seq", (run_id,))]
        return out

    # -- decision ledger ------------------------------------------------------------------
    def add_decision(self, d: dict[str, Any]) -> None:
        cols = ("decision_id", "client_order_id", "order_id", "run_id", "clock_ts", "symbol",
                "action", "side", "qty_micros", "est_price_micros", "stop_micros",
                "take_profit_micros", "score", "strategy", "pattern", "scan", "signals",
                "patterns", "sentiment", "sizing", "risk_verdict", "risk_message",
                "order_status", "degraded", "created_at")
        vals = [(_j(d.get(c)) if c in LEDGER_JSON else d.get(c)) for c in cols]
        vals[-1] = vals[-1] or _now()
        with self.db.transaction("coord:ledger") as c:
            c.execute(f"INSERT INTO decision_ledger ({', '.join(cols)}) "  # noqa: S608 - constant
                      f"VALUES ({', '.join('?' * len(cols))})", vals)

    def decisions(self, *, symbol: str | None, order_id: str | None, client_order_id: str | None,
                  limit: int) -> list[dict[str, Any]]:
        where, params = [], []
        for col, v in (("symbol", symbol), ("order_id", order_id),
                       ("client_order_id", client_order_id)):
            if v is not None:
                where.append(f"{col} = ?")
                params.append(v)
        sql = "SELECT * FROM decision_ledger"
        if where:
            sql += " WHERE " + " AND ".join(where)
        sql += " ORDER BY market_run DESC, clock_ts DESC, created_at DESC LIMIT ?"
        params.append(limit)
        return [_row(r, LEDGER_JSON) for r in self.db.fetch_all(sql, params)]

    def traded_symbols(self, since: str) -> list[str]:
        """Return the symbols coordination ordered at or after market time ``since``."""
        return [r["symbol"] for r in self.db.fetch_all(
            "SELECT DISTINCT symbol FROM decision_ledger WHERE clock_ts >= ? AND market_run = "
            "(SELECT COALESCE(MAX(run), 1) FROM market_clock) ORDER BY symbol", (since,))]

    def entry_times(self, symbols: list[str], now: str) -> dict[str, datetime]:
        """Return the market time of each symbol's most recently placed accepted entry at or
        before market time ``now`` (the one that opened the position held now).

        Ordered by placement (wall time), not market time: a replay moved back over a day
        already traded must not see the earlier run's later entries.
        """
        out: dict[str, datetime] = {}
        for s in symbols:
            r = self.db.fetch_one(
                "SELECT clock_ts FROM decision_ledger WHERE symbol = ? AND action "
                "IN ('enter_long', 'enter_short') AND risk_verdict = 'accepted' "
                "AND clock_ts <= ? ORDER BY created_at DESC LIMIT 1", (s, now))
            if r is not None:
                out[s] = datetime.fromisoformat(r["clock_ts"])
        return out

    # -- strategy settings ----------------------------------------------------------------
    def strategy(self) -> dict[str, Any] | None:
        r = self.db.fetch_one("SELECT settings FROM coord_strategy WHERE id = 1")
        return None if r is None else json.loads(r["settings"])

    def save_strategy(self, settings: dict[str, Any], changes: list[tuple[str, Any, Any]],
                      changed_by: str) -> None:
        """Replace the strategy and log every changed key, in one transaction."""
        now = _now()
        with self.db.transaction("coord:strategy") as c:
            c.execute("INSERT INTO coord_strategy (id, settings, updated_at) VALUES (1, ?, ?) "
                      "ON CONFLICT (id) DO UPDATE SET settings = excluded.settings, "
                      "updated_at = excluded.updated_at", (_j(settings), now))
            c.executemany("INSERT INTO coord_settings_changes (key, old_value, new_value, "
                          "changed_by, changed_at) VALUES (?, ?, ?, ?, ?)",
                          [(k, _j(o), _j(n), changed_by, now) for k, o, n in changes])

    def changes(self, limit: int) -> list[dict[str, Any]]:
        return [_row(r, ("old_value", "new_value")) for r in self.db.fetch_all(
            "SELECT * FROM coord_settings_changes ORDER BY id DESC LIMIT ?", (limit,))]

    # -- automation state and the loop lease ----------------------------------------------
    def automation(self) -> dict[str, Any] | None:
        r = self.db.fetch_one("SELECT * FROM coord_automation WHERE id = 1")
        return None if r is None else dict(r)

    def set_automation(self, state: str | None = None, last_step_ts: str | None = None) -> None:
        with self.db.transaction("coord:automation") as c:
            c.execute("INSERT INTO coord_automation (id, state, last_step_ts, updated_at) "
                      "VALUES (1, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
                      "state = COALESCE(?, coord_automation.state), "
                      "last_step_ts = COALESCE(?, coord_automation.last_step_ts), updated_at = ?",
                      (state or "stopped", last_step_ts, _now(), state, last_step_ts, _now()))

    def claim_step(self, step: str, *, run_id: str, trigger: str, clock_ts: str,
                   holder: str | None = None, require_running: bool = False) -> bool:
        """Claim clock step ``step`` for one cycle and record its run as started.

        One ``BEGIN IMMEDIATE`` transaction checks, in order: the automation is running (when
        ``require_running``), ``holder`` holds the unexpired ``workflow`` lease (when given),
        and ``step`` is not the step last claimed; only then it stores ``step`` and inserts
        the run.  So a stop that has committed is never followed by a new loop cycle, a
        process whose lease lapsed cannot cycle, and no step is cycled twice.  Returns False
        when any check fails (nothing written).
        """
        with self.db.transaction("coord:claim") as c:
            a = c.execute("SELECT state, last_step_ts FROM coord_automation WHERE id = 1"
                          ).fetchone()
            if require_running and (a is None or a["state"] != "running"):
                return False
            if holder is not None:
                lease = c.execute("SELECT holder, expires_at FROM coord_lease WHERE name = ?",
                                  ("workflow",)).fetchone()
                if lease is None or lease["holder"] != holder or lease["expires_at"] <= time.time():
                    return False
            if a is not None and a["last_step_ts"] == step:
                return False
            now = _now()
            c.execute("INSERT INTO coord_automation (id, state, last_step_ts, updated_at) "
                      "VALUES (1, 'stopped', ?, ?) ON CONFLICT (id) DO UPDATE SET "
                      "last_step_ts = excluded.last_step_ts, updated_at = excluded.updated_at",
                      (step, now))
            c.execute("INSERT INTO coord_runs (id, trigger, clock_ts, started_at, status) "
                      "VALUES (?, ?, ?, ?, 'running')", (run_id, trigger, clock_ts, now))
            return True

    def runs_in_flight(self, trigger: str, max_age_s: float) -> int:
        """Return how many ``trigger`` runs started in the last ``max_age_s`` s still run
        (older ones belong to a process that died mid-cycle)."""
        since = datetime.fromtimestamp(time.time() - max_age_s, UTC).isoformat()
        r = self.db.fetch_one("SELECT COUNT(*) AS n FROM coord_runs WHERE status = 'running' "
                              "AND trigger = ? AND started_at >= ?", (trigger, since))
        return int(r["n"]) if r is not None else 0

    def acquire_lease(self, name: str, holder: str, ttl_s: float) -> bool:
        """Take or renew lease ``name`` for ``holder``; False while another holds it."""
        now = time.time()
        with self.db.transaction("coord:lease") as c:
            r = c.execute("SELECT holder, expires_at FROM coord_lease WHERE name = ?",
                          (name,)).fetchone()
            if r is not None and r["holder"] != holder and r["expires_at"] > now:
                return False
            c.execute("INSERT INTO coord_lease (name, holder, expires_at) VALUES (?, ?, ?) "
                      "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                      "expires_at = excluded.expires_at", (name, holder, now + ttl_s))
            return True

    def release_lease(self, name: str, holder: str) -> None:
        with self.db.transaction("coord:lease") as c:
            c.execute("DELETE FROM coord_lease WHERE name = ? AND holder = ?", (name, holder))

    def lease(self, name: str) -> dict[str, Any] | None:
        r = self.db.fetch_one("SELECT * FROM coord_lease WHERE name = ?", (name,))
        return None if r is None else dict(r)
