"""Fixtures for the manager tests: free port ranges and a supervisor on fake services."""
from __future__ import annotations

import json
import socket
import sys
from pathlib import Path

import psutil
import pytest

from shared.config import SERVICE_NAMES
from shared.supervisor.spec import ServiceSpec

FAKE = Path(__file__).with_name("fake_service.py")


def free_port_block(count: int = len(SERVICE_NAMES), start: int = 15600,
                    stop: int = 16400) -> list[int]:
    """Return ``count`` consecutive free loopback ports from [start, stop)."""
    for base in range(start, stop, count + 1):
        ok = True
        for port in range(base, base + count):
            with socket.socket() as s:
                try:
                    s.bind(("127.0.0.1", port))
                except OSError:
                    ok = False
                    break
        if ok:
            return list(range(base, base + count))
    raise RuntimeError("no free port block")


def port_env(ports: list[int]) -> dict[str, str]:
    return {f"{n.upper()}_PORT": str(p) for n, p in zip(SERVICE_NAMES, ports, strict=True)}


def suite_pids(state_file: Path) -> set[int]:
    """Return the pids of a running suite from the manager's state file: the manager, every
    service's gunicorn master and their children (empty when there is no state yet)."""
    pids: set[int] = set()
    try:
        state = json.loads(state_file.read_text())
    except (FileNotFoundError, ValueError):
        return pids
    pids.add(state["manager_pid"])
    for s in state["services"]:
        if s["pid"]:
            pids.add(s["pid"])
            try:
                pids.update(c.pid for c in psutil.Process(s["pid"]).children(recursive=True))
            except psutil.NoSuchProcess:
                pass
    return pids


@pytest.fixture
def fake_modes(monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    """Run fake services instead of the real ones; map a service name to its mode."""
    modes: dict[str, str] = {}

    def command(self: ServiceSpec, dev: bool = False) -> list[str]:
        return [sys.executable, str(FAKE), str(self.port), modes.get(self.name, "healthy")]

    monkeypatch.setattr(ServiceSpec, "command", command)
    return modes
