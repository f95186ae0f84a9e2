"""Use cases behind ``GET /api/v1/services``: the registry as the suite sees it right now."""
from __future__ import annotations

from typing import Any

from shared.config import SERVICE_NAMES, Settings
from shared.db import Database
from shared.errors import NotFound
from shared.supervisor.registry import ServiceRegistry

#: A running service whose heartbeat is older than this many intervals is reported stale.
STALE_AFTER_BEATS = 3


class RegistryService:
    """Read-only view of ``service_registry`` (written by the services and the manager)."""

    def __init__(self, db: Database, settings: Settings) -> None:
        self.registry = ServiceRegistry(db)
        self.stale_after_s = settings.supervisor.heartbeat_interval_s * STALE_AFTER_BEATS

    def _enrich(self, row: dict[str, Any]) -> dict[str, Any]:
        row["state"] = row.pop("status")
        row["stale"] = (row["state"] in ("running", "degraded")
                        and row["heartbeat_age_s"] > self.stale_after_s)
        return row

    def list(self, state: str | None = None) -> list[dict[str, Any]]:
        """Return every registered service (only those in ``state`` when given), by name."""
        rows = [self._enrich(r) for r in self.registry.rows()]
        return [r for r in rows if state is None or r["state"] == state]

    def get(self, name: str) -> dict[str, Any]:
        """Return one service's row with its recent supervision events.

        Raises:
            NotFound: when ``name`` is not a service or has never registered.
        """
        if name not in SERVICE_NAMES:
            raise NotFound(f"unknown service '{name}'; known: {', '.join(SERVICE_NAMES)}",
                           field="name")
        for row in self.registry.rows():
            if row["name"] == name:
                out = self._enrich(row)
                out["events"] = self.registry.events(name, limit=20)
                return out
        raise NotFound(f"service '{name}' has not registered yet", field="name")
