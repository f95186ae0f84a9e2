"""One real service under gunicorn (``python -m <package>``) on a free loopback port and a
temp database built by the real migrations, for the reliability tests that need the real
server (workers, sockets, processes) rather than the app in-process."""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import requests

from shared.config import ROOT, SERVICES, load_settings
from shared.db import Database, migrate

PACKAGES = {name: pkg for name, _port, pkg in SERVICES}
SYMBOL_ROW = ("INSERT OR IGNORE INTO symbols (symbol, name, sector, asset_class, exchange, "
              "source, updated_at) VALUES (?, ?, 'Technology', 'equity', 'NASDAQ', 'test', "
              "'2024-01-01T00:00:00+00:00')")


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class LiveService:
    """``name`` served by its own ``__main__`` on ``tmp/trading.db``; ``env`` overrides."""

    def __init__(self, name: str, tmp: Path, **env: str) -> None:
        self.name = name
        self.tmp = tmp
        self.port = free_port()
        self.db_path = tmp / "trading.db"
        base = {k: v for k, v in os.environ.items()
                if not k.startswith("TRADING__") and k not in ("API_KEY", "TRADING_CONFIG")
                and not k.endswith("_PORT")}
        base.update(TRADING_ENV="test", DATABASE_PATH=str(self.db_path),
                    LOG_DIR=str(tmp / "logs"), PYTHONPATH=str(ROOT),
                    TRADING__security__rate_limit="",
                    **{f"{name.upper()}_PORT": str(self.port)})
        base.update(env)
        self.env = base
        self.proc: subprocess.Popen[bytes] | None = None
        db = Database.from_settings(load_settings(environ=self.env))
        migrate(db)
        for sym in ("AAPL", "MSFT"):
            db.execute_with_retry(SYMBOL_ROW, (sym, sym))
        db.close()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 60.0) -> None:
        """Start and wait for /health 200.

        Raises:
            RuntimeError: it exited or was not healthy in time (with its output).
        """
        with open(self.tmp / f"{self.name}.out", "ab") as out:
            self.proc = subprocess.Popen([sys.executable, "-m", PACKAGES[self.name]], cwd=ROOT,
                                         env=self.env, stdout=out, stderr=subprocess.STDOUT,
                                         start_new_session=True)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"{self.name} exited:\n{self.output()}")
            try:
                if requests.get(self.url + "/health", timeout=1).status_code == 200:
                    return
            except requests.RequestException:
                pass
            time.sleep(0.2)
        raise RuntimeError(f"{self.name} not healthy in {timeout}s:\n{self.output()}")

    def stop(self) -> None:
        if self.proc is None:
            return
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=15)
        except ProcessLookupError:
            pass
        except subprocess.TimeoutExpired:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait(timeout=5)
        self.proc = None

    def output(self) -> str:
        p = self.tmp / f"{self.name}.out"
        return p.read_text(errors="replace")[-4000:] if p.exists() else ""
