"""The dashboard's view of the suite: every call to another service goes through ServiceClient.

The backend never writes another service's tables.  It reads the service registry and the
market clock from the database (read-only), calls the services over HTTP with short timeouts
behind their circuit breakers, and turns "down", "breaker open" and "endpoint not there yet"
into plain values the UI can show instead of errors.
"""
from __future__ import annotations

import logging
import os
import threading
import time
from collections import deque
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import psutil

from shared.config import SERVICE_NAMES, Settings
from shared.db import Database
from shared.errors import AppError, Conflict, NotFound, ServiceUnavailable
from shared.http import ServiceClient, breaker_states

log = logging.getLogger("dashboard.backend")

#: The services the dashboard watches (itself excluded: if it answers, it is up).
UPSTREAMS: tuple[str, ...] = tuple(n for n in SERVICE_NAMES if n != "dashboard")
# A health probe's breaker resets quickly so a restarted service is seen within seconds; the
# action clients keep the suite's breaker settings.
_PROBE_RESET_S = 3.0


def unavailable(service: str, path: str) -> dict[str, Any]:
    """Return the marker the UI shows as "<service> does not offer <path> yet"."""
    return {"available": False, "service": service, "path": path,
            "message": f"{service} does not offer {path} yet"}


class Backend:
    """Aggregate the suite for the dashboard's pages and its live stream."""

    def __init__(self, settings: Settings, db: Database) -> None:
        self.settings = settings
        self.db = db
        self.cfg = settings.dashboard
        self._clients: dict[str, ServiceClient] = {}
        self._probes: dict[str, ServiceClient] = {}
        self._lock = threading.Lock()
        self._pool = ThreadPoolExecutor(max_workers=8, thread_name_prefix="dash-probe")
        # Services seen healthy by this process: a later failure of one of them is an outage
        # (banner), while a service never seen and not registered is just "not started".
        self._seen_up: set[str] = set()
        self._clock: Any = None
        self._dm: Any = None
        self._coordination: Any = None
        self.latencies: dict[str, deque[float]] = {n: deque(maxlen=30) for n in UPSTREAMS}

    # -- clients --------------------------------------------------------------------------
    def client(self, name: str) -> ServiceClient:
        """Return the action/read client of ``name`` (suite timeouts capped, suite breaker).

        Raises:
            NotFound: for a name that is not a suite service.
        """
        if name not in UPSTREAMS:
            raise NotFound(f"unknown service {name!r}; known: {list(UPSTREAMS)}", field="service")
        with self._lock:
            c = self._clients.get(name)
            if c is None:
                c = ServiceClient.for_service(
                    name, self.settings, timeout=self.cfg.upstream_timeout_s,
                    retries=self.cfg.upstream_retries)
                self._clients[name] = c
            return c

    def _probe_client(self, name: str) -> ServiceClient:
        with self._lock:
            c = self._probes.get(name)
            if c is None:
                c = ServiceClient(f"{name}.health", self.settings.url(name),
                                  timeout=self.cfg.upstream_timeout_s, retries=0,
                                  fail_max=self.settings.http.breaker_fail_max,
                                  reset_timeout=_PROBE_RESET_S)
                self._probes[name] = c
            return c

    def call(self, name: str, method: str, path: str, **kwargs: Any) -> Any:
        """Call ``name`` and return its data; errors keep the target's code, message and field.

        Raises:
            AppError: the service's own 4xx error (status and details kept).
            ServiceUnavailable: the service is down, failing or behind an open breaker.
        """
        return self.client(name).request(method, path, **kwargs)

    @property
    def coordination(self) -> Any:
        """Coordination's control routes (``dashboard.coordination.Coordination``)."""
        if self._coordination is None:
            from dashboard.coordination import Coordination

            self._coordination = Coordination(self)
        return self._coordination


    def fetch(self, name: str, path: str, params: dict[str, Any] | None = None) -> dict[str, Any]:
        """GET ``path`` of ``name`` and return ``{"available": True, "data": ...}`` or a marker.

        A 404/405 means the endpoint does not exist (yet); a down service gives
        ``{"available": False, "down": True}``.  Other 4xx errors are raised.

        Raises:
            AppError: a 4xx other than 404/405 (a bad parameter the caller passed on).
        """
        try:
            return {"available": True, "data": self.call(name, "GET", path, params=params)}
        except ServiceUnavailable as exc:
            return {"available": False, "down": True, "service": name, "path": path,
                    "message": exc.message}
        except AppError as exc:
            if missing_endpoint(exc):
                return unavailable(name, path)
            if exc.http_status == 404:  # e.g. "no scan has run yet": a state, not a failure
                return {"available": False, "service": name, "path": path,
                        "message": exc.message}
            raise

    # -- system ---------------------------------------------------------------------------
    def probe(self, name: str) -> dict[str, Any]:
        """Return ``name``'s health: state, latency, uptime, pid and its breakers."""
        t0 = time.perf_counter()
        out: dict[str, Any] = {"name": name, "port": self.settings.port(name),
                               "url": self.settings.url(name)}
        try:
            data = self._probe_client(name).get("/health")
            latency = (time.perf_counter() - t0) * 1000
            self.latencies[name].append(latency)
            self._seen_up.add(name)
            out.update(up=data.get("status") == "healthy", health=data.get("status"),
                       latency_ms=round(latency, 2), uptime_s=data.get("uptime_s"),
                       pid=data.get("pid"), version=data.get("version"),
                       breakers=data.get("circuit_breakers") or {}, error=None)
        except AppError as exc:
            out.update(up=False, health="down", latency_ms=None, uptime_s=None, pid=None,
                       breakers={}, error=exc.message)
        return out

    def registry(self) -> dict[str, dict[str, Any]]:
        """Return the registry rows by name (coordination's API first, else the table)."""
        try:
            rows = self.call("coordination", "GET", "/api/v1/services")
            if isinstance(rows, dict):
                rows = rows.get("services") or rows.get("items") or []
            return {r["name"]: r for r in rows if isinstance(r, dict) and "name" in r}
        except AppError:
            pass
        from shared.supervisor.registry import ServiceRegistry

        try:
            return {r["name"]: r for r in ServiceRegistry(self.db).rows()}
        except Exception:  # noqa: BLE001 - an unmigrated or busy DB must not break the page
            log.warning("registry unreadable", exc_info=True)
            return {}

    def services(self) -> dict[str, Any]:
        """Return every service's merged registry + health view and the list of outages."""
        reg = self.registry()
        probes = list(self._pool.map(self.probe, UPSTREAMS))
        rows = []
        for p in probes:
            r = reg.get(p["name"], {})
            status = r.get("state") or r.get("status")  # coordination says state, the table status
            expected = bool(r) and status not in ("stopped",)
            if p["up"]:
                state = "running"
            elif status == "failed":
                state = "failed"
            elif expected or p["name"] in self._seen_up:
                state = "down"
            else:
                state = "not started"
            rows.append({**p, "state": state, "restarts": r.get("restarts", 0),
                         "registry_status": status, "started_at": r.get("started_at"),
                         "heartbeat_age_s": r.get("heartbeat_age_s"),
                         "last_reason": r.get("last_reason"),
                         "last_exit_code": r.get("last_exit_code")})
        rows.append(self._self_row(reg.get("dashboard", {})))
        down = [r["name"] for r in rows if r["state"] in ("down", "failed")]
        return {"services": _with_processes(rows, self.settings), "down": down,
                "supervisor": supervisor_view(self.settings),
                "market_data": self.market_data(),
                "dashboard_breakers": breaker_states(), "checked_at": _now_iso()}

    def _self_row(self, r: dict[str, Any]) -> dict[str, Any]:
        """Return the dashboard's own row (registry row ``r``): it answers, so it runs, and
        this worker is the pid that answered."""
        try:
            uptime: float | None = round(time.time() - psutil.Process().create_time(), 1)
        except psutil.Error:
            uptime = None
        return {"name": "dashboard", "port": self.settings.port("dashboard"),
                "url": self.settings.url("dashboard"), "up": True, "health": "healthy",
                "latency_ms": None, "uptime_s": uptime, "pid": os.getpid(), "version": None,
                "breakers": breaker_states(), "error": None, "state": "running",
                "restarts": r.get("restarts", 0), "registry_status": r.get("state") or
                r.get("status"), "started_at": r.get("started_at"),
                "heartbeat_age_s": r.get("heartbeat_age_s"), "last_reason": r.get("last_reason"),
                "last_exit_code": r.get("last_exit_code")}

    def market_data(self) -> dict[str, Any]:
        """Return whether the stored market reaches the clock (stale: the owner, coordination's
        market feed, is behind or down, and what is shown is the last stored)."""
        from shared.market.feed import market_data_status

        try:
            return market_data_status(self.db, self.settings)
        except Exception as exc:  # noqa: BLE001 - an unreadable DB must not break the page
            return {"stale": True, "error": f"{type(exc).__name__}: {exc}"[:200]}

    def restart(self, name: str) -> dict[str, Any]:
        """Ask the running manager to restart ``name`` through its control directory (the
        interface ``hybrid_manager.py restart`` uses; coordination offers no restart route).

        Raises:
            NotFound: an unknown service.
            ServiceUnavailable: no manager runs this suite, so nobody could restart it.
        """
        self.client(name)  # validates the name
        if self.settings.supervisor.kind == "compose":
            raise Conflict(f"processes are managed by Docker Compose; restart {name} with "
                           f"`{compose_restart(name)}`", field="service")
        from shared.supervisor.rundir import RunDir

        rd = RunDir.for_settings(self.settings)
        pid = rd.manager_pid()
        if pid is None:
            raise ServiceUnavailable(
                f"no manager supervises this suite, so {name} cannot be restarted from here; "
                "start the suite with `python hybrid_manager.py start`", field="service")
        rd.request("restart", name)
        return {"service": name, "via": "manager", "manager_pid": pid}

    def log_tail(self, name: str, lines: int | None = None,
                 level: str = "INFO") -> dict[str, Any]:
        """Return the last ``lines`` lines of ``logs/<name>.log`` (empty when there is none),
        raw under ``lines`` and, at ``level`` or above, readable under ``entries``
        (``dashboard.logview``: time, service, level, message).

        Raises:
            NotFound: for an unknown service name.
        """
        from dashboard.logview import readable

        if name not in SERVICE_NAMES:
            raise NotFound(f"unknown service {name!r}", field="service")
        n = lines or self.cfg.log_tail_lines
        path = Path(self.settings.log_dir) / f"{name}.log"
        if not path.exists():
            return {"service": name, "lines": [], "entries": [], "level": level,
                    "path": str(path)}
        with path.open("rb") as fh:
            fh.seek(0, 2)
            size = fh.tell()
            # Read only the end of the file: logs rotate at 10 MB, a page wants a few lines
            # (ten times more when filtered, so a quiet level still fills the view).
            at = max(0, size - 64 * 1024 * max(1, n // 25))
            fh.seek(at)
            tail = fh.read().decode("utf-8", "replace").splitlines()[1 if at else 0:]
        return {"service": name, "lines": tail[-n:], "level": level, "path": str(path),
                "entries": readable(tail[-10 * n:], name, level, n)}

    # -- market clock ---------------------------------------------------------------------
    def market_clock(self) -> Any:
        if self._clock is None:
            from shared.market import MarketClock

            self._clock = MarketClock(self.db, self.settings.market.clock)
        return self._clock

    def data_manager(self) -> Any:
        if self._dm is None:
            from shared.market import get_data_manager

            self._dm = get_data_manager(self.settings)
        return self._dm

    def market_clock_snapshot(self) -> dict[str, Any]:
        """Return the clock row as the database holds it (coordination's fallback)."""
        clock = self.market_clock()
        clock.invalidate()
        return clock.snapshot()

    def session_info(self, now_iso: str | None) -> dict[str, Any]:
        """Return the exchange session holding ``now`` (or None) and the next open/close."""
        if not now_iso:
            return {"session": None, "next_open": None, "next_close": None}
        import pandas as pd

        cal = self.market_clock().calendar
        now = pd.Timestamp(now_iso)
        session = cal.session_of(now)
        out: dict[str, Any] = {"session": session.date().isoformat() if session is not None
                               else None}
        for key, fn in (("next_open", cal.next_open), ("next_close", cal.next_close)):
            try:
                out[key] = _iso(fn(now))
            except AppError:  # past the calendar's last session
                out[key] = None
        return out


def compose_restart(name: str) -> str:
    """Return the command that restarts service ``name`` under Docker Compose."""
    return f"docker compose restart {name.replace('_', '-')}"


def supervisor_view(settings: Settings) -> dict[str, Any]:
    """Return who runs the processes and how a person restarts one: the manager (the System
    page's Restart) or Docker Compose (a command; nothing here can restart a container)."""
    if settings.supervisor.kind == "compose":
        return {"kind": "compose", "restart_command": "docker compose restart <service>",
                "commands": {n: compose_restart(n) for n in SERVICE_NAMES},
                "message": "Processes are managed by Docker Compose; restart one with "
                           "`docker compose restart <service>`."}
    return {"kind": "manager", "restart_command": "python hybrid_manager.py restart <service>",
            "commands": {n: f"python hybrid_manager.py restart {n}" for n in SERVICE_NAMES},
            "message": None}


def _with_processes(rows: list[dict[str, Any]], settings: Settings) -> list[dict[str, Any]]:
    """Return ``rows`` in port order, each with the manager's ``master_pid`` and its
    ``worker_pids`` (``dashboard.processes``; the pid that answered /health stays ``pid``)."""
    from dashboard.processes import manager_view

    try:
        view = manager_view(settings)
    except Exception:  # noqa: BLE001 - an unreadable state file must not break the page
        log.warning("manager state unreadable", exc_info=True)
        view = {"manager_pid": None, "services": {}}
    out = []
    for r in sorted(rows, key=lambda r: r["port"]):
        m = view["services"].get(r["name"], {})
        out.append({**r, "managed": view["manager_pid"] is not None,
                    "manager_pid": view["manager_pid"], "master_pid": m.get("master_pid"),
                    "worker_pids": m.get("worker_pids", []),
                    "manager_state": m.get("manager_state")})
    return out


def missing_endpoint(exc: AppError) -> bool:
    """Return True when ``exc`` says the route does not exist (not "this order was not found")."""
    if exc.http_status == 405:
        return True
    # Werkzeug's own 404 for an unrouted URL, as the shared error handler passes it on.
    return exc.http_status == 404 and "requested URL was not found" in (exc.message or "")


def _as_dict(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {"value": value}


def _iso(ts: Any) -> str | None:
    return None if ts is None else ts.isoformat()


def _now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
