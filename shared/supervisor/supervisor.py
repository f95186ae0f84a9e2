"""The manager's engine: start the suite in order, watch it, restart what fails, stop it all.

One thread (the caller's) owns every process and every database write; health probes run on a
small pool and are collected on the next tick, so one hung service never delays noticing that
another one exited.
"""
from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from subprocess import Popen
from typing import Any

from shared.config import ROOT, Settings
from shared.db import MIGRATIONS_DIR, Database, applied_migrations, migrate
from shared.errors import OperationalError
from shared.supervisor import process
from shared.supervisor.health import Probe, probe
from shared.supervisor.logs import tail
from shared.supervisor.policy import RestartPolicy
from shared.supervisor.ports import busy_ports
from shared.supervisor.registry import ServiceRegistry
from shared.supervisor.rundir import RunDir
from shared.supervisor.spec import START_GROUPS, ServiceSpec, child_env, service_specs
from shared.supervisor.zygote import Forked, Zygote, become_subreaper, reap_orphans

log = logging.getLogger("supervisor")
LIVE = ("starting", "running", "degraded")
#: The registry's CHECK constraint has no "backoff": a service waiting to restart is starting.
DB_STATE = {"backoff": "starting"}


class StartError(RuntimeError):
    """The suite could not start; the message names the service and shows its log tail."""


@dataclass
class Managed:
    """The manager's view of one service."""

    spec: ServiceSpec
    proc: Popen[bytes] | Forked | None = None
    state: str = "stopped"
    restarts: int = 0
    started_wall: float | None = None
    create_time: float | None = None
    spawned_at: float = 0.0
    last_exit_code: int | None = None
    last_reason: str | None = None
    last_error: str | None = None
    latency_ms: float | None = None
    fails: int = 0
    next_probe: float = 0.0
    next_start: float = 0.0
    healthy_since: float | None = None
    kill_at: float | None = None
    exit_reason: str | None = None
    restart_requested: bool = False
    failures: list[float] = field(default_factory=list)
    probe_future: Future[Probe] | None = None
    probe_pid: int | None = None
    last_db_write: float = 0.0

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc is not None else None


def describe_exit(code: int) -> str:
    if code < 0:
        try:
            return f"killed by signal {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exited with code {code}"


class Supervisor:
    """Run the nine services of one suite (one database, one log dir, one port set)."""

    def __init__(self, settings: Settings, run_dir: RunDir, *, dev: bool = False,
                 say: Callable[[str], None] = print, clock: Callable[[], float] = time.monotonic,
                 fork_server: bool = False) -> None:
        self.settings = settings
        self.cfg = settings.supervisor
        self.run_dir = run_dir
        self.dev = dev
        self.say = say
        self.clock = clock
        self.policy = RestartPolicy.from_settings(self.cfg)
        self.services = {s.name: Managed(s) for s in service_specs(settings)}
        self.db = Database.from_settings(settings)
        self.registry = ServiceRegistry(self.db)
        self.pool = ThreadPoolExecutor(max_workers=len(self.services), thread_name_prefix="probe")
        self.env = child_env(dict(os.environ))
        self.phase = "starting"
        self.error: str | None = None
        self.started_wall = time.time()
        self._stop = threading.Event()
        # services forked from one process that imported the libraries once (zygote.py); only
        # a real manager process asks for it: it makes its process a subreaper
        self.fork_server = fork_server and not dev
        self.zygote: Zygote | None = None
        self._next_reap = 0.0

    # -- paths ----------------------------------------------------------------------------
    def console_log(self, name: str) -> Path:
        return self.settings.log_dir / f"{name}.console.log"

    def service_log(self, name: str) -> Path:
        return self.settings.log_dir / f"{name}.log"

    # -- database -------------------------------------------------------------------------
    def prepare_database(self) -> list[str]:
        """Apply pending migrations and check the result; return the names applied.

        Raises:
            StartError: when a migration fails or the database is not consistent afterwards.
        """
        try:
            applied = migrate(self.db)
            have = set(applied_migrations(self.db))
            want = {int(p.name[:4]) for p in MIGRATIONS_DIR.glob("[0-9][0-9][0-9][0-9]_*.sql")}
            check = self.db.fetch_one("PRAGMA quick_check")[0]
        except (OperationalError, OSError) as exc:
            raise StartError(f"database {self.db.label}: {exc}") from exc
        if want - have:
            raise StartError(f"database is missing migrations {sorted(want - have)}")
        if check != "ok":
            raise StartError(f"database integrity check failed: {check}")
        return applied

    def _record(self, m: Managed, event: str | None = None, reason: str | None = None,
                exit_code: int | None = None, pid: int | None = None) -> None:
        try:
            self.registry.record(
                m.spec.name, port=m.spec.port, pid=pid or m.pid or 0, version=self.settings.version,
                status=DB_STATE.get(m.state, m.state), restarts=m.restarts, exit_code=exit_code,
                reason=m.last_reason, latency_ms=m.latency_ms, event=event, event_reason=reason)
            m.last_db_write = self.clock()
        except Exception as exc:  # a busy database must not stop supervision
            log.warning("registry write failed", extra={"service": m.spec.name,
                                                        "error": str(exc)})

    # -- processes ------------------------------------------------------------------------
    def gate(self, name: str) -> Path:
        return self.run_dir.path / "gates" / name

    def _spawn(self, m: Managed, event: str, reason: str, gated: bool = False) -> None:
        env = self.env
        if gated:
            env = {**env, "SUITE_START_GATE": str(self.gate(m.spec.name))}
        m.proc = None
        if self.zygote is not None:
            try:
                m.proc = self.zygote.spawn(m.spec.module, [], self.console_log(m.spec.name), env,
                                           ROOT)
            except OSError as exc:
                log.warning("fork server failed; spawning", extra={"service": m.spec.name,
                                                                    "error": str(exc)})
                self.zygote = None
        if m.proc is None:
            m.proc = process.spawn(m.spec.command(self.dev), self.console_log(m.spec.name), env)
        now = self.clock()
        m.create_time = process.create_time(m.proc.pid)
        m.started_wall, m.spawned_at = time.time(), now
        m.state, m.fails, m.kill_at, m.exit_reason = "starting", 0, None, None
        m.restart_requested, m.healthy_since, m.next_probe = False, None, now + 0.2
        if event == "restart":
            m.restarts += 1
        log.info("service spawned", extra={"service": m.spec.name, "pid": m.proc.pid,
                                           "event": event, "reason": reason})
        self._record(m, event, reason)

    def _stop_process(self, m: Managed, reason: str | None) -> None:
        if m.proc is None:
            return
        m.exit_reason = reason
        m.state = "stopping"
        m.kill_at = self.clock() + self.cfg.stop_timeout_s
        process.terminate(m.proc.pid)

    def _on_exit(self, m: Managed, code: int) -> None:
        assert m.proc is not None
        pid = m.proc.pid
        process.kill_group(pid)  # orphaned workers would keep the port
        reason = m.exit_reason or describe_exit(code)
        if self.phase == "stopping" and m.exit_reason is None:
            reason = f"stopped ({describe_exit(code)})"
        m.proc, m.kill_at, m.probe_future = None, None, None
        m.last_exit_code, m.last_reason, m.latency_ms = code, reason, None
        log.warning("service exited", extra={"service": m.spec.name, "exit_code": code,
                                             "reason": reason})
        if self.phase == "stopping":
            m.state = "stopped"
            self._record(m, "stop", reason, code, pid)
        elif m.restart_requested:
            self._record(m, "exit", reason, code, pid)
            self._spawn(m, "restart", "restart requested")
        elif self.phase == "starting":
            m.state = "stopped"
            self._record(m, "exit", reason, code, pid)
        else:
            self._schedule_restart(m, reason, code, pid)

    def _schedule_restart(self, m: Managed, reason: str, code: int | None,
                          pid: int | None = None) -> None:
        now = self.clock()
        decision = self.policy.decide(m.failures, now)
        m.failures = [*self.policy.recent(m.failures, now), now]
        if decision.give_up:
            m.state = "failed"
            m.last_reason = (f"crash loop: {decision.recent_failures} failures within "
                             f"{self.policy.window_s:g}s; last: {reason}")
            self._record(m, "failed", m.last_reason, code, pid)
            self.say(f"{m.spec.name} FAILED and will not be restarted: {m.last_reason}")
            return
        m.state, m.next_start = "backoff", now + decision.delay_s
        self._record(m, "exit", f"{reason}; restarting in {decision.delay_s:.2f}s", code, pid)
        self.say(f"{m.spec.name} {reason}; restarting in {decision.delay_s:.2f}s")

    # -- health ---------------------------------------------------------------------------
    def _collect_probe(self, m: Managed, now: float) -> None:
        fut = m.probe_future
        if fut is None or not fut.done():
            return
        m.probe_future = None
        if m.proc is None or m.probe_pid != m.proc.pid or m.state not in LIVE:
            return  # the answer is about a process that is gone
        result = fut.result()
        m.last_error = result.error
        if result.ok:
            m.latency_ms = round(result.latency_ms, 3)
            m.fails = 0
            if m.state != "running":
                was = m.state
                m.state, m.healthy_since = "running", now
                self._record(m, "ready" if was == "starting" else None,
                             f"healthy after {now - m.spawned_at:.2f}s" if was == "starting"
                             else "healthy again")
            elif now - m.last_db_write > 15:
                self._record(m)
        elif m.state != "starting":
            # an unhealthy service is not stable: its earlier restarts stay in the crash-loop
            # window (before, a service healthy for stable_after_s once had them forgotten
            # while it kept failing its checks, so health-failure restarts never gave up)
            m.healthy_since = None
            m.fails += 1
            if m.fails >= self.cfg.unhealthy_threshold:
                why = f"health check failed {m.fails} times in a row: {result.error}"
                self._record(m, "unhealthy", why)
                self.say(f"{m.spec.name} {why}; restarting it")
                self._stop_process(m, why)
            elif m.state == "running":
                m.state = "degraded"
                self._record(m, "unhealthy", result.error)
        interval = 0.1 if m.state == "starting" else self.cfg.health_interval_s
        m.next_probe = now + interval

    def _maybe_probe(self, m: Managed, now: float) -> None:
        if (m.proc is not None and m.state in LIVE and m.probe_future is None
                and now >= m.next_probe
                and (self.phase != "starting" or self.gate(m.spec.name).exists())):
            m.probe_pid = m.proc.pid
            m.probe_future = self.pool.submit(probe, m.spec.url, self.cfg.health_timeout_s)

    # -- the loop -------------------------------------------------------------------------
    def _handle_requests(self) -> None:
        for verb, name in self.run_dir.take_requests():
            m = self.services.get(name)
            if verb != "restart" or m is None:
                log.warning("ignored control request", extra={"verb": verb, "service": name})
                continue
            self.say(f"restart of {name} requested")
            if m.proc is not None:
                m.restart_requested = True
                self._stop_process(m, "restart requested")
            else:
                m.failures.clear()
                self._spawn(m, "restart", "restart requested")

    def tick(self) -> None:
        """Do one round of supervision: exits, restarts, probes, timeouts, state file."""
        now = self.clock()
        if self.phase == "running":
            self._handle_requests()
        for m in self.services.values():
            if m.proc is not None:
                code = m.proc.poll()
                if code is not None:
                    self._on_exit(m, code)
                elif m.kill_at is not None and now >= m.kill_at:
                    process.kill_group(m.proc.pid)
            if m.state == "backoff" and now >= m.next_start:
                self._spawn(m, "restart", m.last_reason or "restart")
            self._collect_probe(m, now)
            if (self.phase == "running" and m.state == "starting"
                    and now - m.spawned_at > self.cfg.start_timeout_s):
                self._stop_process(m, f"not healthy {self.cfg.start_timeout_s:g}s after start")
            if m.healthy_since is not None and now - m.healthy_since >= self.cfg.stable_after_s:
                m.failures.clear()  # stable again: the next crash starts a fresh backoff
            self._maybe_probe(m, now)
        if self.fork_server and now >= self._next_reap:  # a subreaper inherits every orphan
            self._next_reap = now + 2.0
            reap_orphans({m.proc.pid for m in self.services.values() if m.proc is not None}
                         | ({self.zygote.proc.pid} if self.zygote is not None else set()))
        self.write_state()

    def _start_failure(self, m: Managed, what: str) -> StartError:
        lines = [f"{m.spec.name} (port {m.spec.port}) {what}"]
        for path in (self.console_log(m.spec.name), self.service_log(m.spec.name)):
            lines.append(f"--- last lines of {path} ---")
            lines.extend(tail(path, 15) or ["(empty)"])
        return StartError("\n".join(lines))

    def start(self) -> None:
        """Migrate, check ports, then start each group and wait until it is healthy.

        Raises:
            StartError: naming the port or service at fault (the caller stops the suite).
        """
        if self.fork_server and become_subreaper():
            self.zygote = Zygote(ROOT, self.env)  # imports while the database migrates
        applied = self.prepare_database()
        if applied:
            self.say(f"applied migrations: {', '.join(applied)}")
        problems = busy_ports({m.spec.name: m.spec.port for m in self.services.values()},
                              self.settings.security.bind_host)
        if problems:
            raise StartError("cannot start: " + "; ".join(problems))
        gates = self.run_dir.path / "gates"
        gates.mkdir(parents=True, exist_ok=True)
        for old in gates.iterdir():
            old.unlink()
        # Every process starts now and imports its libraries while it waits at its gate; the
        # gates open group by group, so apps are built and ports bound in start order.
        if self.cfg.prewarm:
            for m in self.services.values():
                self._spawn(m, "start", "suite start", gated=True)
        for group in START_GROUPS:
            members = [self.services[n] for n in group]
            for m in members:
                self.gate(m.spec.name).touch()
                if not self.cfg.prewarm:
                    self._spawn(m, "start", "suite start")
                m.spawned_at = self.clock()
            deadline = self.clock() + self.cfg.start_timeout_s
            while any(m.state != "running" for m in members):
                if self._stop.is_set():
                    raise StartError("start interrupted")
                self.tick()
                for m in self.services.values():  # a gated process may die while importing
                    if m.last_exit_code is not None and m.proc is None and m.state != "running":
                        raise self._start_failure(
                            m, f"{m.last_reason} before it became healthy")
                if self.clock() > deadline:
                    late = next(m for m in members if m.state != "running")
                    raise self._start_failure(
                        late, f"did not become healthy within {self.cfg.start_timeout_s:g}s "
                              f"(last probe: {late.last_error})")
                time.sleep(0.05)
        self.phase = "running"
        self.write_state()

    def run(self) -> None:
        """Supervise until ``request_stop`` (SIGTERM, Ctrl-C or ``hybrid_manager.py stop``)."""
        while not self._stop.wait(0.2):
            self.tick()

    def request_stop(self, *_: Any) -> None:
        self._stop.set()

    def stop_all(self) -> None:
        """SIGTERM every service, SIGKILL what is left after ``stop_timeout_s``, record it."""
        self.phase = "stopping"
        if self.zygote is not None:
            self.zygote.close()
            self.zygote = None
        for m in self.services.values():
            m.restart_requested = False
            if m.proc is not None:
                self._stop_process(m, None)
                self._record(m)
        deadline = self.clock() + self.cfg.stop_timeout_s
        while self.clock() < deadline and any(
                m.proc is not None and m.proc.poll() is None for m in self.services.values()):
            time.sleep(0.05)
        for m in self.services.values():
            if m.proc is None:
                if m.state in LIVE or m.state == "backoff":
                    m.state = "stopped"
                    self._record(m, "stop", "suite stopped")
                continue
            if m.proc.poll() is None:
                process.kill_group(m.proc.pid)
                m.proc.wait(timeout=5)
                m.exit_reason = f"killed after {self.cfg.stop_timeout_s:g}s stop timeout"
            m.state = "stopping"
            self._on_exit(m, m.proc.returncode)
        self.pool.shutdown(wait=False, cancel_futures=True)
        if self.fork_server:
            reap_orphans(set())
        self.phase = "stopped"
        self.write_state()
        self.db.close()

    # -- state ----------------------------------------------------------------------------
    def snapshot(self) -> dict[str, Any]:
        now = time.time()
        rows = []
        for m in self.services.values():
            rows.append({
                "name": m.spec.name, "port": m.spec.port, "url": m.spec.url, "pid": m.pid,
                "create_time": m.create_time if m.proc else None, "state": m.state,
                "uptime_s": round(now - m.started_wall, 1) if m.proc and m.started_wall else None,
                "restarts": m.restarts, "last_exit_code": m.last_exit_code,
                "last_reason": m.last_reason, "health_latency_ms": m.latency_ms,
                "last_error": m.last_error, "log": str(self.service_log(m.spec.name)),
                "console_log": str(self.console_log(m.spec.name)),
            })
        return {"manager_pid": os.getpid(), "phase": self.phase, "error": self.error,
                "dev": self.dev, "database": str(self.settings.database_path),
                "log_dir": str(self.settings.log_dir), "updated_at": now,
                "started_at": self.started_wall, "services": rows}

    def write_state(self) -> None:
        self.run_dir.write_state(self.snapshot())
