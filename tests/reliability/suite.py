"""Run the real suite through ``hybrid_manager.py`` for the chaos and leak tests."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import psutil
import requests

from shared.config import ROOT, SERVICE_NAMES
from tests.manager.conftest import free_port_block, port_env, suite_pids

MANAGER = str(ROOT / "hybrid_manager.py")
#: Distinctive secrets: the leak test greps every log file for them afterwards.
SECRETS = {"API_KEY": "chaos-api-key-5d1e8b7a93",
           "ALPACA_API_KEY": "PKCHAOSLEAKCHECK0427",
           "ALPACA_SECRET_KEY": "chaosSecretLeakCheck9f0e1d2c3b4a5968"}


class Suite:
    """The nine services on a temp database, temp logs and a free port block (16000+)."""

    def __init__(self, tmp: Path, **overrides: str) -> None:
        self.tmp = tmp
        self.ports = free_port_block(start=16000, stop=16490)
        self.port = dict(zip(SERVICE_NAMES, self.ports, strict=True))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRADING__") and not k.endswith("_PORT")}
        env.update(port_env(self.ports), DATABASE_PATH=str(tmp / "suite.db"),
                   LOG_DIR=str(tmp / "logs"), TRADING_ENV="test", **SECRETS)
        env.update(overrides)
        self.env = env
        self.db_path = tmp / "suite.db"
        self.log_dir = tmp / "logs"
        self.state_file = tmp / "run" / "suite" / "state.json"
        self.http = requests.Session()
        self.http.headers["X-API-Key"] = SECRETS["API_KEY"]
        self.seen: set[int] = set()

    @property
    def database(self) -> str | Path:
        """Where the services store: ``DATABASE_URL`` when an override set one (PostgreSQL),
        else the SQLite file (read it with tests/reliability/dbread.py)."""
        return self.env.get("DATABASE_URL") or self.db_path

    def cli(self, *args: str, timeout: float = 180) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, MANAGER, *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    def start(self) -> None:
        res = self.cli("start", "--detach")
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        self.seen |= self.pids()

    def status(self) -> dict[str, dict[str, Any]]:
        """The manager's view of every service (its state file, as ``status --json`` reads)."""
        return {s["name"]: s for s in json.loads(self.state_file.read_text())["services"]}

    def pids(self) -> set[int]:
        return suite_pids(self.state_file)

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.port[name]}{path}"

    def get(self, name: str, path: str, **kw: Any) -> requests.Response:
        return self.http.get(self.url(name, path), timeout=kw.pop("timeout", 10), **kw)

    def post(self, name: str, path: str, **kw: Any) -> requests.Response:
        return self.http.post(self.url(name, path), timeout=kw.pop("timeout", 10), **kw)

    def wait_healthy(self, name: str, not_pid: int | None = None, limit_s: float = 60) -> float:
        """Wait until ``name`` answers /health 200 from a master other than ``not_pid``."""
        t0 = time.monotonic()
        while time.monotonic() - t0 < limit_s:
            try:
                st = self.status()[name]
                if st["state"] == "running" and st["pid"] not in (None, not_pid):
                    if self.get(name, "/health", timeout=2).status_code == 200:
                        self.seen |= self.pids()
                        return time.monotonic() - t0
            except (requests.RequestException, ValueError, KeyError):
                pass
            time.sleep(0.2)
        raise AssertionError(f"{name} not healthy within {limit_s}s: {self.status().get(name)}")

    def stop(self) -> None:
        self.seen |= self.pids()
        try:
            self.cli("stop", timeout=90)
        finally:
            for pid in self.seen:  # never leak a process, whatever failed
                try:
                    if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                        os.kill(pid, signal.SIGKILL)
                except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
                    pass
