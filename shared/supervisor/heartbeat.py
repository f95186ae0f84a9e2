"""A service's own registration and heartbeat in ``service_registry``.

Started by the runner (gunicorn's master in ``when_ready``, or the dev server), never at import
or in ``create_app``, so unit tests that build apps start no thread.  It opens its own
``Database`` rather than the process-wide one: gunicorn forks workers while this thread may
hold that object's lock, and a lock copied held into a child would deadlock it.
"""
from __future__ import annotations

import logging
import socket
import threading
from datetime import UTC, datetime

from shared.config import Settings
from shared.db import Database
from shared.supervisor.registry import Registration, ServiceRegistry

log = logging.getLogger("supervisor.heartbeat")


class Heartbeat:
    """Register ``name`` once, then stamp its heartbeat every ``interval_s`` on a daemon thread."""

    def __init__(self, name: str, settings: Settings, pid: int,
                 interval_s: float | None = None) -> None:
        self.name = name
        self.settings = settings
        self.pid = pid
        self.interval_s = interval_s or settings.supervisor.heartbeat_interval_s
        self.started_at = datetime.now(UTC)
        self.beats = 0
        self._db = Database.from_settings(settings)
        self._registry = ServiceRegistry(self._db)
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def registration(self) -> Registration:
        host = self.settings.services[self.name].host or socket.gethostname()
        return Registration(self.name, self.settings.port(self.name), self.pid,
                            self.settings.version, host, self.started_at)

    def beat(self) -> None:
        """Write one heartbeat, registering again when the row is missing or not ours."""
        if not self._registry.heartbeat(self.name, self.pid):
            self._registry.register(self.registration())
        self.beats += 1

    def _run(self) -> None:
        while not self._stop.wait(self.interval_s):
            try:
                self.beat()
            except Exception as exc:  # a missed beat must not kill the thread; the next one retries
                log.warning("heartbeat failed", extra={"service": self.name, "error": str(exc)})

    def start(self) -> None:
        """Register now (raising if the database refuses), then beat in the background."""
        self._registry.register(self.registration())
        log.info("registered", extra={"service": self.name, "pid": self.pid,
                                      "port": self.settings.port(self.name)})
        self._thread = threading.Thread(target=self._run, name=f"heartbeat-{self.name}",
                                        daemon=True)
        self._thread.start()

    def stop(self, deregister: bool = True) -> None:
        """Stop beating and, on a clean shutdown, mark the row stopped."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=2)
        if deregister:
            try:
                self._registry.deregister(self.name, self.pid)
            except Exception as exc:  # shutting down: log it, nothing else can be done
                log.warning("deregister failed", extra={"service": self.name, "error": str(exc)})
        self._db.close()
