"""``hybrid_manager.py``: migrate, start [--detach] [--dev], stop, status [--json], restart, logs.

The same environment variables that configure the services configure the manager
(``DATABASE_PATH``, ``LOG_DIR``, ``COORDINATION_PORT`` ... ``DASHBOARD_PORT``), so a second
suite runs beside the first by changing them.
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Sequence
from typing import Any

from shared.config import ROOT, SERVICE_NAMES, Settings, load_settings
from shared.db import Database, migrate
from shared.errors import ConfigError
from shared.logging import configure_logging
from shared.supervisor import process
from shared.supervisor.logs import follow, tail
from shared.supervisor.ports import busy_ports
from shared.supervisor.progress import ProgressPrinter, dashboard_urls
from shared.supervisor.progress_reader import ProgressReader
from shared.supervisor.rundir import AlreadyRunning, RunDir
from shared.supervisor.spec import service_specs
from shared.supervisor.status import collect, table
from shared.supervisor.supervisor import StartError, Supervisor


def say(msg: str) -> None:
    print(msg, flush=True)


def cmd_migrate(settings: Settings, rd: RunDir, args: argparse.Namespace) -> int:
    db = Database.from_settings(settings)
    try:
        applied = migrate(db)
    finally:
        db.close()
    say(f"applied: {', '.join(applied)}" if applied else "database is up to date")
    say(f"database: {db.label}")
    return 0


def dashboard_line(settings: Settings) -> str:
    """Return where to open the dashboard (the forwarded URL first in Codespaces/Gitpod)."""
    urls = dashboard_urls(settings.port("dashboard"), settings.security.bind_host, os.environ)
    if len(urls) > 1:
        return f"dashboard: {urls[1]}  (on this machine: {urls[0]})"
    return f"dashboard: {urls[0]}"


def _run_foreground(settings: Settings, rd: RunDir, dev: bool,
                    progress_every: float | None = None, progress: bool = True) -> int:
    configure_logging("manager", settings)
    try:
        rd.acquire()
    except AlreadyRunning as exc:
        say(str(exc))
        return 1
    reader = ProgressReader(settings.url("coordination"), settings.url("paper_trading"))
    printer = ProgressPrinter(reader.read, sys.stdout, every_s=progress_every)
    sup = Supervisor(settings, rd, dev=dev, say=printer.say,
                     fork_server=settings.supervisor.fork_server)
    signal.signal(signal.SIGTERM, sup.request_stop)
    signal.signal(signal.SIGINT, sup.request_stop)
    code = 0
    t0 = time.monotonic()
    try:
        sup.start()
        say(f"all {len(sup.services)} services healthy in {time.monotonic() - t0:.1f}s "
            f"(manager pid {os.getpid()}; Ctrl-C or 'hybrid_manager.py stop' to stop)")
        say(table(collect(settings, rd)))
        say(dashboard_line(settings))
        if progress:
            printer.start()
        sup.run()
    except StartError as exc:
        sup.error = str(exc)
        say(f"START FAILED: {exc}")
        code = 1
    finally:
        printer.stop()
        say("stopping every service...")
        sup.stop_all()
        rd.release()
        say("stopped")
    return code


def _start_detached(settings: Settings, rd: RunDir, args: argparse.Namespace) -> int:
    if rd.manager_pid():
        say(f"a manager is already running for this suite (pid {rd.manager_pid()})")
        return 1
    problems = busy_ports({s.name: s.port for s in service_specs(settings)},
                          settings.security.bind_host)
    if problems:  # say it here too: the detached manager's own message goes to its log
        say("cannot start: " + "; ".join(problems))
        return 1
    rd.path.mkdir(parents=True, exist_ok=True)
    argv = [sys.executable, str(ROOT / "hybrid_manager.py"), "--run-dir", str(rd.path), "start"]
    if args.dev:
        argv.append("--dev")
    with open(rd.manager_log, "ab") as out:
        child = subprocess.Popen(argv, cwd=ROOT, stdin=subprocess.DEVNULL, stdout=out,
                                 stderr=subprocess.STDOUT, start_new_session=True)
    t0 = time.monotonic()
    groups = 4
    deadline = t0 + settings.supervisor.start_timeout_s * groups + 30
    while time.monotonic() < deadline:
        state = rd.read_state()
        if state and state.get("manager_pid") == child.pid and state["phase"] == "running":
            say(f"all services healthy in {time.monotonic() - t0:.1f}s; manager pid {child.pid}")
            say(table(collect(settings, rd)))
            say(dashboard_line(settings))
            return 0
        if child.poll() is not None:
            say(f"the manager exited with code {child.returncode} during start:")
            say("\n".join(tail(rd.manager_log, 40)))
            return 1
        time.sleep(0.1)
    say("the suite did not come up in time; stopping it")
    child.send_signal(signal.SIGTERM)
    child.wait(timeout=settings.supervisor.stop_timeout_s + 15)
    return 1


def cmd_start(settings: Settings, rd: RunDir, args: argparse.Namespace) -> int:
    if args.detach:
        return _start_detached(settings, rd, args)
    return _run_foreground(settings, rd, args.dev, args.progress_every, not args.no_progress)


def _kill_leftovers(rd: RunDir) -> list[int]:
    """Kill service process groups a dead manager left behind; return their pids."""
    state = rd.read_state() or {}
    killed = []
    for s in state.get("services", []):
        pid = s.get("pid")
        if pid and process.same_process(pid, s.get("create_time")):
            process.kill_group(pid)
            killed.append(pid)
    return killed


def cmd_stop(settings: Settings, rd: RunDir, args: argparse.Namespace) -> int:
    pid = rd.manager_pid()
    if pid is None:
        killed = _kill_leftovers(rd)
        say(f"no manager running; killed leftover services {killed}" if killed
            else "no manager running")
    else:
        os.kill(pid, signal.SIGTERM)
        # The manager gives services stop_timeout_s, then SIGKILLs them; allow for that.
        deadline = time.monotonic() + settings.supervisor.stop_timeout_s + 10
        while rd.locked() and time.monotonic() < deadline:
            time.sleep(0.1)
        if rd.locked():
            say(f"manager {pid} did not stop in time; killing it and its services")
            os.kill(pid, signal.SIGKILL)
            _kill_leftovers(rd)
        # The manager lets go of the lock just before its interpreter exits; a 'stop'
        # that returns has to mean nothing of the suite runs any more.
        elif process.wait_gone(pid, 5.0):
            say(f"manager {pid} stopped")
        else:
            say(f"manager {pid} let go of its lock but is still running")
            return 1
    busy: list[str] = []
    for _ in range(50):  # sockets close a moment after their process exits
        busy = busy_ports({s.name: s.port for s in service_specs(settings)},
                          settings.security.bind_host)
        if not busy:
            break
        time.sleep(0.1)
    for line in busy:
        say(line)
    return 1 if busy else 0


def cmd_status(settings: Settings, rd: RunDir, args: argparse.Namespace) -> int:
    view = collect(settings, rd)
    say(json.dumps(view, indent=2, default=str) if args.json else table(view))
    return 0


def cmd_restart(settings: Settings, rd: RunDir, args: argparse.Namespace) -> int:
    if rd.manager_pid() is None:
        say("no manager is running for this suite; use 'start'")
        return 1
    before = {s["name"]: s for s in (rd.read_state() or {}).get("services", [])}
    old_pid = before.get(args.name, {}).get("pid")
    rd.request("restart", args.name)
    cfg = settings.supervisor
    deadline = time.monotonic() + cfg.stop_timeout_s + cfg.start_timeout_s + 5
    while time.monotonic() < deadline:
        now = {s["name"]: s for s in (rd.read_state() or {}).get("services", [])}
        s = now.get(args.name, {})
        if s.get("pid") and s["pid"] != old_pid and s.get("state") == "running":
            say(f"{args.name} restarted: pid {s['pid']}, {s['restarts']} restart(s)")
            return 0
        time.sleep(0.1)
    say(f"{args.name} did not come back healthy in time; see 'hybrid_manager.py logs "
        f"{args.name} --console'")
    return 1


def cmd_logs(settings: Settings, rd: RunDir, args: argparse.Namespace) -> int:
    suffix = ".console.log" if args.console else ".log"
    path = settings.log_dir / f"{args.name}{suffix}"
    if args.name == "manager" and args.console:
        path = rd.manager_log
    for line in tail(path, args.lines):
        say(line)
    if args.follow:
        try:
            for line in follow(path):
                say(line)
        except KeyboardInterrupt:
            pass
    elif not path.exists():
        say(f"no log yet at {path}")
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0.1 <= value <= 86_400:
        raise argparse.ArgumentTypeError(f"expected seconds between 0.1 and 86400, got {text!r}")
    return value


def parser(registrars: Sequence[Registrar] = (),
           handlers: dict[str, Any] | None = None) -> argparse.ArgumentParser:
    """Return the manager's parser with each registrar's commands added (their handlers go
    into ``handlers``)."""
    handlers = {} if handlers is None else handlers
    p = argparse.ArgumentParser(prog="hybrid_manager.py",
                                description="Run and supervise the nine trading services.")
    p.add_argument("--run-dir", help="pidfile/state directory (default: beside the database)")
    sub = p.add_subparsers(dest="command", required=True)
    sub.add_parser("migrate", help="create or upgrade the database")
    st = sub.add_parser("start", help="start the suite (foreground; Ctrl-C stops it)")
    st.add_argument("--detach", action="store_true",
                    help="return once every service is healthy, leaving the manager running")
    st.add_argument("--dev", action="store_true",
                    help="Flask's development server with code reload instead of gunicorn")
    st.add_argument("--progress-every", type=_seconds, metavar="SECONDS",
                    help="how often the progress line is shown (default: redrawn every 2 s "
                         "on a terminal, a plain line every 30 s otherwise)")
    st.add_argument("--no-progress", action="store_true", help="no progress line")
    sub.add_parser("stop", help="stop the suite (SIGTERM, SIGKILL after the stop timeout)")
    ss = sub.add_parser("status", help="one row per service")
    ss.add_argument("--json", action="store_true")
    rs = sub.add_parser("restart", help="restart one service")
    rs.add_argument("name", choices=SERVICE_NAMES)
    lg = sub.add_parser("logs", help="show a service's log")
    lg.add_argument("name", choices=(*SERVICE_NAMES, "manager", "database_operations"))
    lg.add_argument("-f", "--follow", action="store_true")
    lg.add_argument("-n", "--lines", type=int, default=50)
    lg.add_argument("--console", action="store_true",
                    help="the process's stdout/stderr (gunicorn, tracebacks) instead")
    for register in registrars:
        handlers.update(register(sub))
    return p


COMMANDS: dict[str, Any] = {"migrate": cmd_migrate, "start": cmd_start, "stop": cmd_stop,
                            "status": cmd_status, "restart": cmd_restart, "logs": cmd_logs}

# A registrar adds its owner's subcommands and returns {command: handler(settings, run_dir,
# args) -> exit status}.  The owners' commands (paper trading's accounts, coordination's
# reset, the backtester's replay and optimize) are composed by hybrid_manager.py: this
# library imports no service and not the backtester.
Registrar = Callable[[Any], dict[str, Any]]


def main(argv: list[str] | None = None, registrars: Sequence[Registrar] = ()) -> int:
    """Run one command; return its exit status (settings errors print and return 2)."""
    handlers = dict(COMMANDS)
    args = parser(registrars, handlers).parse_args(argv)
    try:
        settings = load_settings()
    except ConfigError as exc:
        say(f"configuration error: {exc}")
        return 2
    rd = RunDir.for_settings(settings, args.run_dir)
    return int(handlers[args.command](settings, rd, args))
