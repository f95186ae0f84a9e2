"""The run directory of one suite: lock, pidfile, state file and control requests.

It sits beside the database (``<db dir>/run/<db name>/``), so two suites with different
``DATABASE_PATH`` never share one.  Only the manager writes ``state.json`` (atomically, with
``os.replace``); other processes read it, and ask for work by dropping files in ``control/``.
"""
from __future__ import annotations

import fcntl
import json
import os
import time
from pathlib import Path
from typing import IO, Any

from shared.config import Settings


class AlreadyRunning(RuntimeError):
    """Another manager holds this suite's lock."""


class RunDir:
    def __init__(self, path: Path) -> None:
        self.path = path
        self.pidfile = path / "manager.pid"
        self.state_file = path / "state.json"
        self.control = path / "control"
        self.manager_log = path / "manager.out"
        self._lock: IO[str] | None = None

    @classmethod
    def for_settings(cls, settings: Settings, override: str | None = None) -> RunDir:
        if override:
            return cls(Path(override).resolve())
        db = settings.database_path
        return cls(db.parent / "run" / db.stem)

    # -- held by the running manager ------------------------------------------------------
    def acquire(self) -> None:
        """Take the suite's lock and write the pidfile.

        Raises:
            AlreadyRunning: naming the pid of the manager that holds it.
        """
        self.control.mkdir(parents=True, exist_ok=True)
        f = open(self.path / "manager.lock", "a+")  # noqa: SIM115 - held for the manager's life
        try:
            fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            f.close()
            raise AlreadyRunning(
                f"a manager is already running for this suite (pid {self.manager_pid()}); "
                f"run 'hybrid_manager.py stop' first") from None
        self._lock = f
        for stale in self.control.iterdir():
            stale.unlink(missing_ok=True)
        self.pidfile.write_text(str(os.getpid()))

    def release(self) -> None:
        self.pidfile.unlink(missing_ok=True)
        if self._lock is not None:
            self._lock.close()
            self._lock = None

    def write_state(self, state: dict[str, Any]) -> None:
        tmp = self.state_file.with_suffix(".tmp")
        tmp.write_text(json.dumps(state, indent=1, default=str))
        os.replace(tmp, self.state_file)

    def take_requests(self) -> list[tuple[str, str]]:
        """Return and remove the pending control requests as (verb, service) pairs."""
        out = []
        try:
            entries = sorted(self.control.iterdir())
        except FileNotFoundError:
            return out
        for f in entries:
            verb, _, name = f.name.partition("-")
            f.unlink(missing_ok=True)
            if name:
                out.append((verb, name))
        return out

    # -- read from other processes --------------------------------------------------------
    def manager_pid(self) -> int | None:
        """Return the pid of the live manager of this suite, or None."""
        try:
            pid = int(self.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        if not self.locked():
            return None
        return pid

    def locked(self) -> bool:
        """Return True when some process holds the suite's lock (i.e. a manager is alive)."""
        lock = self.path / "manager.lock"
        if not lock.exists():
            return False
        with open(lock, "a+") as f:
            try:
                fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return True
            fcntl.flock(f, fcntl.LOCK_UN)
            return False

    def read_state(self) -> dict[str, Any] | None:
        try:
            return json.loads(self.state_file.read_text())
        except (FileNotFoundError, ValueError):
            return None

    def request(self, verb: str, name: str) -> None:
        self.control.mkdir(parents=True, exist_ok=True)
        (self.control / f"{verb}-{name}").write_text(str(time.time()))
