"""SQL over ``service_registry`` and ``service_events`` (db/migrations/0001_init.sql).

Two writers share the registry on purpose, each with its own columns: a service writes its
identity and heartbeat (``register``/``heartbeat``/``deregister``: pid, port, version, host,
started_at, last_heartbeat), the manager writes supervision (``record``: status, restarts,
last_exit_code, last_reason, health_latency_ms) and every ``service_events`` row.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from shared.db import Database

STATES = ("starting", "running", "degraded", "stopping", "stopped", "failed")
EVENTS = ("start", "ready", "exit", "restart", "unhealthy", "failed", "stop")


def utc_now() -> datetime:
    return datetime.now(UTC)


def _iso(t: datetime | None) -> str:
    return (t or utc_now()).isoformat()


@dataclass(frozen=True)
class Registration:
    """What a service says about itself when it starts."""

    name: str
    port: int
    pid: int
    version: str
    host: str
    started_at: datetime


class ServiceRegistry:
    """Read and write the registry and the supervision events of one database."""

    def __init__(self, db: Database) -> None:
        self.db = db

    # -- the service's side ---------------------------------------------------------------
    def register(self, reg: Registration) -> None:
        """Insert or refresh ``reg``'s row, keeping the manager's supervision columns."""
        now = _iso(None)
        self.db.execute_with_retry(
            "INSERT INTO service_registry (name, port, pid, version, host, started_at, "
            "last_heartbeat, status) VALUES (?, ?, ?, ?, ?, ?, ?, 'running') "
            "ON CONFLICT(name) DO UPDATE SET port = excluded.port, pid = excluded.pid, "
            "version = excluded.version, host = excluded.host, "
            "started_at = excluded.started_at, last_heartbeat = excluded.last_heartbeat, "
            "status = CASE WHEN service_registry.status IN ('starting', 'stopped') "
            "THEN 'running' ELSE service_registry.status END",
            (reg.name, reg.port, reg.pid, reg.version, reg.host, _iso(reg.started_at), now))

    def heartbeat(self, name: str, pid: int) -> bool:
        """Stamp ``last_heartbeat``; return False when the row is gone or owned by another pid."""
        return self.db.execute_with_retry(
            "UPDATE service_registry SET last_heartbeat = ? WHERE name = ? AND pid = ?",
            (_iso(None), name, pid)) == 1

    def deregister(self, name: str, pid: int) -> None:
        """Mark ``name`` stopped if ``pid`` still owns its row (a clean shutdown)."""
        self.db.execute_with_retry(
            "UPDATE service_registry SET status = 'stopped', last_heartbeat = ? "
            "WHERE name = ? AND pid = ? AND status != 'failed'", (_iso(None), name, pid))

    # -- the manager's side ---------------------------------------------------------------
    def record(self, name: str, *, port: int, pid: int | None, version: str, status: str,
               restarts: int, exit_code: int | None = None, reason: str | None = None,
               latency_ms: float | None = None, event: str | None = None,
               event_reason: str | None = None, started_at: datetime | None = None) -> None:
        """Write the manager's view of ``name`` and, when given, one event, in one transaction.

        Raises:
            ValueError: for an unknown status or event.
        """
        if status not in STATES:
            raise ValueError(f"status was {status!r}; expected one of {STATES}")
        if event is not None and event not in EVENTS:
            raise ValueError(f"event was {event!r}; expected one of {EVENTS}")
        now = _iso(None)
        with self.db.transaction("registry.record") as conn:
            conn.execute(
                "INSERT INTO service_registry (name, port, pid, version, started_at, "
                "last_heartbeat, status, restarts, last_exit_code, last_reason, "
                "health_latency_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
                "ON CONFLICT(name) DO UPDATE SET port = excluded.port, "
                "pid = CASE WHEN excluded.pid > 0 THEN excluded.pid ELSE service_registry.pid END, "
                "status = excluded.status, restarts = excluded.restarts, "
                "last_exit_code = COALESCE(excluded.last_exit_code, service_registry.last_exit_code), "
                "last_reason = COALESCE(excluded.last_reason, service_registry.last_reason), "
                "health_latency_ms = COALESCE(excluded.health_latency_ms, "
                "service_registry.health_latency_ms)",
                (name, port, pid or 0, version, _iso(started_at), now, status, restarts,
                 exit_code, reason, latency_ms))
            if event is not None:
                conn.execute(
                    "INSERT INTO service_events (service, event, pid, exit_code, reason, at) "
                    "VALUES (?, ?, ?, ?, ?, ?)",
                    (name, event, pid, exit_code, event_reason or reason, now))

    # -- readers ---------------------------------------------------------------------------
    def rows(self, now: datetime | None = None) -> list[dict[str, Any]]:
        """Return every registry row as a dict with ``heartbeat_age_s`` added, by name."""
        now = now or utc_now()
        out = []
        for r in self.db.fetch_all(
                "SELECT name, port, pid, version, host, started_at, last_heartbeat, status, "
                "restarts, last_exit_code, last_reason, health_latency_ms "
                "FROM service_registry ORDER BY name"):
            row = dict(r)
            beat = datetime.fromisoformat(row["last_heartbeat"])
            row["heartbeat_age_s"] = round(max(0.0, (now - beat).total_seconds()), 3)
            out.append(row)
        return out

    def events(self, service: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        """Return the newest ``limit`` events (of ``service`` when given), newest first."""
        if service is None:
            rows = self.db.fetch_all(
                "SELECT id, service, event, pid, exit_code, reason, at FROM service_events "
                "ORDER BY id DESC LIMIT ?", (limit,))
        else:
            rows = self.db.fetch_all(
                "SELECT id, service, event, pid, exit_code, reason, at FROM service_events "
                "WHERE service = ? ORDER BY id DESC LIMIT ?", (service, limit))
        return [dict(r) for r in rows]
