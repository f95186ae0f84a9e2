"""Start real services on free loopback ports for the dashboard's browser tests.

Each service runs as ``python -m <package>`` (gunicorn, as in production) against a temp
database built by the real migrations; every port of the suite is moved to a free one so a
suite already running on 5000-5010 is never touched.
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import requests

from shared.config import SERVICES

ROOT = Path(__file__).resolve().parents[2]
PACKAGES = {name: pkg for name, _port, pkg in SERVICES}


def free_port() -> int:
    return free_ports(1)[0]


def free_ports(n: int) -> list[int]:
    """Return ``n`` distinct free loopback ports: all bound at once, since ports picked one
    after another can repeat (the kernel may hand a just-closed port out again; CI once gave
    two services of one suite the same port)."""
    socks = [socket.socket() for _ in range(n)]
    try:
        for s in socks:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in socks]
    finally:
        for s in socks:
            s.close()


class Suite:
    """A temp database, one port per service, and the processes started so far."""

    def __init__(self, tmp: Path, extra_env: dict[str, str] | None = None) -> None:
        self.tmp = tmp
        self.ports = dict(zip(PACKAGES, free_ports(len(PACKAGES)), strict=True))
        self.procs: dict[str, subprocess.Popen[bytes]] = {}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRADING__") and k not in ("API_KEY", "TRADING_CONFIG")}
        env.update({
            "TRADING_ENV": "test",
            "DATABASE_PATH": str(tmp / "trading.db"),
            "LOG_DIR": str(tmp / "logs"),
            "PYTHONPATH": str(ROOT),
            "TRADING__dashboard__poll_interval_s": "0.5",
            "TRADING__dashboard__stream_heartbeat_s": "2",
            "TRADING__dashboard__upstream_timeout_s": "1.5",
            "TRADING__http__breaker_reset_s": "2",
        })
        env.update({f"{name.upper()}_PORT": str(port) for name, port in self.ports.items()})
        env.update(extra_env or {})
        self.env = env

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def start(self, name: str, timeout: float = 60.0) -> None:
        """Start ``name`` and wait until its /health answers 200.

        Raises:
            RuntimeError: it exited or did not come up in time (with its output).
        """
        with open(self.tmp / f"{name}.out", "ab") as log:  # the child keeps its own copy
            proc = subprocess.Popen([sys.executable, "-m", PACKAGES[name]], cwd=ROOT,
                                    env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                    start_new_session=True)
        self.procs[name] = proc
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise RuntimeError(f"{name} exited with {proc.returncode}:\n{self.output(name)}")
            try:
                if requests.get(self.url(name) + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{name} did not become healthy in {timeout}s:\n{self.output(name)}")

    def stop(self, name: str) -> None:
        """SIGTERM ``name``'s process group (gunicorn master and workers) and wait for it."""
        proc = self.procs.pop(name, None)
        if proc is None:
            return
        try:
            os.killpg(proc.pid, signal.SIGTERM)
            proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(timeout=5)

    def stop_all(self) -> None:
        for name in list(self.procs):
            self.stop(name)

    def output(self, name: str) -> str:
        p = self.tmp / f"{name}.out"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""


def until(page: Any, js: str, timeout: float = 20.0, *, arg: Any = None) -> Any:
    """Poll ``js`` in the page until it is truthy and return its value.

    ``js`` is an expression or a function (called with ``arg``), evaluated from here on each
    poll. Not ``page.wait_for_function``: its in-page polling evaluates a string with ``eval``,
    which the dashboard's CSP (``default-src 'self'``) forbids whenever the first check fails.
    """
    deadline = time.monotonic() + timeout
    while True:
        v = page.evaluate(js) if arg is None else page.evaluate(js, arg)
        if v:
            return v
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout:g} s waiting for {js!r}")
        page.wait_for_timeout(100)
