"""Ports, log tails, the run directory and the status table."""
import os
import socket
import threading
import time

import pytest

from shared.config import SERVICE_NAMES
from shared.supervisor.logs import follow, tail
from shared.supervisor.ports import busy_ports, port_free, port_holder
from shared.supervisor.rundir import AlreadyRunning, RunDir
from shared.supervisor.status import collect, table
from tests.conftest import make_settings


def test_a_listening_port_is_reported_with_its_holder():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        port = s.getsockname()[1]
        assert not port_free(port)
        assert port_holder(port).startswith(f"pid {os.getpid()} ")
        [msg] = busy_ports({"scanner": port, "news": port + 0})[:1]
        assert f"port {port} (scanner) is already in use, held by pid {os.getpid()}" in msg
    assert port_free(port)
    assert busy_ports({"scanner": port}) == []


def test_tail_returns_the_last_lines_of_a_big_file(tmp_path):
    p = tmp_path / "x.log"
    p.write_text("".join(f"line {i}\n" for i in range(20000)))
    assert tail(p, 3) == ["line 19997", "line 19998", "line 19999"]
    assert tail(tmp_path / "missing.log") == []


def test_follow_sees_appends_and_survives_rotation(tmp_path):
    p = tmp_path / "svc.log"
    p.write_text("old\n")
    got: list[str] = []
    done = threading.Event()

    def reader():
        for line in follow(p, stop=done.is_set, poll_s=0.01):
            got.append(line)

    t = threading.Thread(target=reader)
    t.start()
    try:
        time.sleep(0.1)
        with open(p, "a") as f:
            f.write("new 1\n")
        deadline = time.monotonic() + 5
        while "new 1" not in got and time.monotonic() < deadline:
            time.sleep(0.01)
        p.rename(tmp_path / "svc.log.1")
        p.write_text("after rotation\n")
        while "after rotation" not in got and time.monotonic() < deadline:
            time.sleep(0.01)
    finally:
        done.set()
        t.join(5)
    assert got == ["new 1", "after rotation"]


def test_run_dir_lock_is_exclusive_and_released(tmp_path):
    settings = make_settings(tmp_path)
    a = RunDir.for_settings(settings)
    assert a.path == tmp_path / "run" / "trading"
    a.acquire()
    try:
        assert a.manager_pid() == os.getpid()
        with pytest.raises(AlreadyRunning, match=f"pid {os.getpid()}"):
            RunDir.for_settings(settings).acquire()
        a.request("restart", "news")
        a.request("restart", "scanner")
        assert a.take_requests() == [("restart", "news"), ("restart", "scanner")]
        assert a.take_requests() == []
    finally:
        a.release()
    assert a.manager_pid() is None and not a.locked()


def test_two_suites_get_two_run_dirs(tmp_path):
    one = RunDir.for_settings(make_settings(tmp_path / "a"))
    two = RunDir.for_settings(make_settings(tmp_path / "b"))
    assert one.path != two.path


def test_status_without_a_manager_reads_the_registry(tmp_path, db, settings):
    db.execute_with_retry(
        "INSERT INTO service_registry (name, port, pid, version, started_at, last_heartbeat, "
        "status, restarts, last_reason) VALUES ('news', 5008, 9, 'v', ?, ?, 'stopped', 4, "
        "'killed by signal SIGKILL')", ("2024-01-02T14:30:00+00:00",) * 2)
    view = collect(settings, RunDir.for_settings(settings))
    assert view["manager_pid"] is None
    news = next(s for s in view["services"] if s["name"] == "news")
    assert news["restarts"] == 4 and news["pid"] is None
    text = table(view)
    assert "manager: not running" in text
    line = next(x for x in text.splitlines() if x.startswith("news"))
    assert "4" in line.split() and "killed by signal SIGKILL" in line
    assert len(text.splitlines()) == 3 + len(SERVICE_NAMES)
