"""The whole suite through hybrid_manager.py on a temp database, temp logs and ports 15000+.

Relies only on what every service has from the skeleton (/health, /ready, /metrics,
/openapi.json) and on coordination's GET /api/v1/services.
"""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import psutil
import pytest

from shared.config import ROOT, SERVICE_NAMES
from shared.supervisor.ports import port_free
from tests.manager.conftest import free_port_block, port_env, suite_pids

pytestmark = [pytest.mark.e2e, pytest.mark.slow]
MANAGER = str(ROOT / "hybrid_manager.py")


def get(url: str, timeout: float = 3.0) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


class Suite:
    def __init__(self, tmp: Path) -> None:
        self.ports = free_port_block(start=15000, stop=15900)
        self.port = dict(zip(SERVICE_NAMES, self.ports, strict=True))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRADING__") and not k.endswith("_PORT")}
        env.update(port_env(self.ports), DATABASE_PATH=str(tmp / "suite.db"),
                   LOG_DIR=str(tmp / "logs"), TRADING_ENV="test")
        env.pop("API_KEY", None)
        self.env = env
        self.state_file = tmp / "run" / "suite" / "state.json"

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, MANAGER, *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    def state(self) -> dict:
        return {s["name"]: s for s in json.loads(self.state_file.read_text())["services"]}

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.port[name]}{path}"


def _all_pids(suite: Suite) -> set[int]:
    return suite_pids(suite.state_file)


def _alive(pids: set[int]) -> set[int]:
    out = set()
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                out.add(pid)
        except psutil.NoSuchProcess:
            pass
    return out


@pytest.fixture
def suite(tmp_path):
    s = Suite(tmp_path)
    seen: set[int] = set()
    try:
        yield s, seen
    finally:
        seen |= _all_pids(s)
        s.cli("stop", timeout=60)
        for pid in _alive(seen):  # never leak a process, whatever failed above
            try:
                os.killpg(pid, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                os.kill(pid, signal.SIGKILL)


def test_whole_suite_starts_survives_sigkill_and_stops_clean(suite):
    s, seen = suite
    t0 = time.monotonic()
    started = s.cli("start", "--detach")
    assert started.returncode == 0, started.stdout + started.stderr
    print(f"\nsuite healthy {time.monotonic() - t0:.1f}s after 'start --detach'")
    seen |= _all_pids(s)
    # forked from the manager's fork server, re-parented to the manager, named as themselves
    manager = psutil.Process(json.loads(s.state_file.read_text())["manager_pid"])
    assert any("shared.supervisor.zygote" in " ".join(c.cmdline()) for c in manager.children())
    for name, row in s.state().items():
        master = psutil.Process(row["pid"])
        assert master.ppid() == manager.pid, name
        assert "zygote" not in " ".join(master.cmdline()), (name, master.cmdline())

    for name in SERVICE_NAMES:
        status, body = get(s.url(name, "/health"))
        assert status == 200 and json.loads(body)["data"]["status"] == "healthy", name
        assert get(s.url(name, "/ready"))[0] == 200, name
        status, body = get(s.url(name, "/metrics"))
        assert status == 200 and b"# TYPE" in body, name
        status, body = get(s.url(name, "/openapi.json"))
        assert status == 200 and "paths" in json.loads(body), name

    state = s.state()
    status, body = get(s.url("coordination", "/api/v1/services"))
    assert status == 200
    rows = {r["name"]: r for r in json.loads(body)["data"]}
    assert set(rows) == set(SERVICE_NAMES)
    for name, row in rows.items():
        assert row["state"] == "running" and row["restarts"] == 0, row
        assert row["pid"] == state[name]["pid"] and row["port"] == s.port[name]
        assert row["stale"] is False

    view = json.loads(s.cli("status", "--json").stdout)
    assert view["phase"] == "running"
    assert [x["state"] for x in view["services"]] == ["running"] * len(SERVICE_NAMES)

    # SIGKILL the scanner's gunicorn master: the manager restarts it, healthy within 5 s
    old_pid = state["scanner"]["pid"]
    old_group = {old_pid, *(c.pid for c in psutil.Process(old_pid).children())}
    os.kill(old_pid, signal.SIGKILL)
    t_kill = time.monotonic()
    back = None
    while time.monotonic() - t_kill < 5.0:
        new = s.state()["scanner"]
        if new["pid"] not in (None, old_pid) and new["state"] == "running":
            status, body = get(s.url("scanner", "/health"), timeout=1)
            if status == 200 and json.loads(body)["data"]["pid"] not in old_group:
                back = time.monotonic() - t_kill
                break
        time.sleep(0.05)
    assert back is not None, f"scanner not healthy again within 5 s: {s.state()['scanner']}"
    print(f"scanner healthy again {back:.2f}s after SIGKILL")
    assert _alive(old_group) == set()  # the orphaned worker was reaped with its group
    seen |= _all_pids(s)
    row = json.loads(get(s.url("coordination", "/api/v1/services/scanner"))[1])["data"]
    assert (row["restarts"], row["last_exit_code"], row["state"]) == (1, -9, "running")
    assert row["last_reason"] == "killed by signal SIGKILL"
    assert [e["event"] for e in row["events"][:3]] == ["ready", "restart", "exit"]

    restarted = s.cli("restart", "news")
    assert restarted.returncode == 0 and "news restarted" in restarted.stdout
    seen |= _all_pids(s)
    assert s.cli("logs", "scanner", "--console", "-n", "5").stdout.strip()

    manager_pid = json.loads(s.state_file.read_text())["manager_pid"]
    t_stop = time.monotonic()
    stopped = s.cli("stop", timeout=60)
    assert stopped.returncode == 0, stopped.stdout + stopped.stderr
    print(f"stopped in {time.monotonic() - t_stop:.1f}s")
    assert _alive(seen | {manager_pid}) == set()
    assert [p for p in s.ports if not port_free(p)] == []
    final = json.loads(s.cli("status", "--json").stdout)
    assert final["manager_pid"] is None
    assert {x["state"] for x in final["services"]} == {"stopped"}
