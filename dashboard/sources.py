"""What the live stream publishes: one zero-argument reader per topic, all read-only.

The paths are the other services' /api/v1 routes; a service that is down shows up on its topic
as ``{"available": False, "down": True, "message": ...}`` and the page says so.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from dashboard.backend import Backend

#: topic -> (service, path, query) of the plain upstream reads.
UPSTREAM_TOPICS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "orders": ("paper_trading", "/api/v1/orders", {"status": "open", "limit": 200}),
    "positions": ("paper_trading", "/api/v1/positions", None),
    "account": ("paper_trading", "/api/v1/account", None),
    "fills": ("paper_trading", "/api/v1/fills", {"limit": 50}),
    "automation": ("coordination", "/api/v1/automation", None),
}


def live_sources(backend: Backend) -> dict[str, Callable[[], Any]]:
    """Return the poller's readers: health, clock, and the upstream topics."""
    sources: dict[str, Callable[[], Any]] = {
        "health": backend.services,
        "clock": backend.coordination.clock,
        "workflow": backend.coordination.workflow,
    }
    for topic, (service, path, query) in UPSTREAM_TOPICS.items():
        sources[topic] = _reader(backend, service, path, query)
    return sources


def _reader(backend: Backend, service: str, path: str,
            query: dict[str, Any] | None) -> Callable[[], Any]:
    def read() -> Any:
        return backend.fetch(service, path, params=query)
    return read
