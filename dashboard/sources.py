"""What the live stream publishes: one zero-argument reader per topic, all read-only.

The paths are the other services' /api/v1 routes; a service that is down shows up on its topic
as ``{"available": False, "down": True, "message": ...}`` and the page says so.

Paper-trading topics (orders, positions, account, fills) belong to one paper account: the
stream server keeps one poller per account someone watches (``dashboard.live.AccountPollers``).
The other topics are the same for every account, so they are read once per poll interval for
all of those pollers (``SharedReads``), not once per account.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from typing import Any

from dashboard.backend import Backend

#: Paper trading's automation account: its /api/v1 routes' default ``account``.
AUTOMATION = 1

#: topic -> (service, path, query) of the reads of one paper account.
ACCOUNT_TOPICS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "orders": ("paper_trading", "/api/v1/orders", {"status": "open", "limit": 200}),
    "positions": ("paper_trading", "/api/v1/positions", None),
    "account": ("paper_trading", "/api/v1/account", None),
    "fills": ("paper_trading", "/api/v1/fills", {"limit": 50}),
}
#: topic -> (service, path, query) of the plain upstream reads every account's stream shares.
SHARED_TOPICS: dict[str, tuple[str, str, dict[str, Any] | None]] = {
    "automation": ("coordination", "/api/v1/automation", None),
}


class SharedReads:
    """Read each account-independent topic at most once per ``ttl_s`` for every caller."""

    def __init__(self, ttl_s: float) -> None:
        self.ttl_s = ttl_s
        self._cache: dict[str, tuple[float, Any]] = {}
        self._locks: dict[str, threading.Lock] = {}

    def wrap(self, topic: str, read: Callable[[], Any]) -> Callable[[], Any]:
        """Return ``read`` memoized under ``topic`` (an exception is raised, not cached)."""
        lock = self._locks.setdefault(topic, threading.Lock())

        def cached() -> Any:
            # a second poller waits for the first one's read and reuses it
            with lock:
                hit = self._cache.get(topic)
                if hit is not None and time.monotonic() - hit[0] < self.ttl_s:
                    return hit[1]
                value = read()
                self._cache[topic] = (time.monotonic(), value)
                return value
        return cached


def live_sources(backend: Backend, account: int = AUTOMATION,
                 shared: SharedReads | None = None) -> dict[str, Callable[[], Any]]:
    """Return the poller's readers of one paper account: health, clock, workflow, the
    automation's state, and that account's orders, positions, account and fills."""
    shared = shared or SharedReads(0.0)
    sources: dict[str, Callable[[], Any]] = {
        "health": shared.wrap("health", backend.services),
        "clock": shared.wrap("clock", backend.coordination.clock),
        "workflow": shared.wrap("workflow", backend.coordination.workflow),
    }
    for topic, (service, path, query) in SHARED_TOPICS.items():
        sources[topic] = shared.wrap(topic, _reader(backend, service, path, query))
    for topic, (service, path, query) in ACCOUNT_TOPICS.items():
        # the automation's reads carry no account: paper trading's default, no lookup there
        params = query if account == AUTOMATION else {**(query or {}), "account": account}
        sources[topic] = _reader(backend, service, path, params)
    return sources


def sources_by_account(backend: Backend,
                       interval_s: float) -> Callable[[int], dict[str, Callable[[], Any]]]:
    """Return ``account -> live_sources(...)`` sharing one ``SharedReads`` across accounts."""
    # a little under one interval: pollers started at different moments still share a read
    shared = SharedReads(interval_s * 0.9)
    return lambda account: live_sources(backend, account, shared)


def _reader(backend: Backend, service: str, path: str,
            query: dict[str, Any] | None) -> Callable[[], Any]:
    def read() -> Any:
        return backend.fetch(service, path, params=query)
    return read
