"""The supervisor on fake service processes: start order, restarts, crash loops, stop."""
import os
import time

import psutil
import pytest

from shared.config import SERVICE_NAMES
from shared.supervisor.ports import port_free
from shared.supervisor.registry import ServiceRegistry
from shared.supervisor.rundir import RunDir
from shared.supervisor.spec import MALLOC_ENV, START_GROUPS, child_env
from shared.supervisor.supervisor import StartError, Supervisor
from tests.conftest import make_settings
from tests.manager.conftest import free_port_block


@pytest.fixture
def suite(tmp_path, fake_modes):
    ports = free_port_block()
    names = list(SERVICE_NAMES)
    overrides = {f"services__{n}__port": p for n, p in zip(names, ports, strict=True)}
    settings = make_settings(
        tmp_path, supervisor__backoff_initial_s=0.05, supervisor__crash_loop_limit=2,
        supervisor__health_interval_s=0.1, supervisor__unhealthy_threshold=2,
        supervisor__start_timeout_s=10, supervisor__stop_timeout_s=3, **overrides)
    rd = RunDir.for_settings(settings)
    rd.acquire()
    sup = Supervisor(settings, rd, say=lambda m: None)
    yield sup
    sup.stop_all()
    rd.release()
    for p in ports:
        assert port_free(p)


def wait_for(pred, timeout=10.0):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if pred():
            return True
        time.sleep(0.02)
    return False


def events(sup, name):
    return [e["event"] for e in reversed(ServiceRegistry(sup.db).events(name))]


def test_start_runs_groups_in_order_then_stop_leaves_nothing(suite):
    suite.start()
    assert suite.phase == "running"
    ms = list(suite.services.values())
    assert all(m.state == "running" for m in ms)
    # every process was spawned at once, but each group bound its port after the one before
    bound = {}
    for m in ms:
        lines = suite.console_log(m.spec.name).read_text().splitlines()
        bound[m.spec.name] = float(next(x for x in lines if x.startswith("bound at")).split()[2])
    for earlier, later in zip(START_GROUPS, START_GROUPS[1:], strict=False):
        assert max(bound[n] for n in earlier) < min(bound[n] for n in later)
    pids = [m.pid for m in ms]
    suite.stop_all()
    assert all(m.state == "stopped" for m in ms)
    assert not any(psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"
                   for p in pids)
    assert events(suite, "news") == ["start", "ready", "stop"]
    row = next(r for r in ServiceRegistry(suite.db).rows() if r["name"] == "news")
    assert row["status"] == "stopped" and row["last_reason"] == "stopped (killed by signal SIGTERM)"


def test_a_service_that_exits_during_start_stops_the_start_with_its_log(suite, fake_modes):
    fake_modes["scanner"] = "exit"
    with pytest.raises(StartError) as err:
        suite.start()
    text = str(err.value)
    assert text.startswith("scanner (port ")
    assert "exited with code 3 before it became healthy" in text
    assert "fake service failing on purpose" in text
    assert "scanner.console.log" in text


def test_a_busy_port_stops_the_start_naming_port_and_holder(suite):
    import os
    import socket

    port = suite.services["reporting"].spec.port
    with socket.socket() as s:
        s.bind(("127.0.0.1", port))
        s.listen()
        with pytest.raises(StartError, match=f"port {port} \\(reporting\\) is already in use, "
                                             f"held by pid {os.getpid()}"):
            suite.start()
    assert all(m.proc is None for m in suite.services.values())  # nothing was spawned


def test_killed_service_is_restarted_and_recorded(suite):
    suite.start()
    m = suite.services["news"]
    old = m.pid
    psutil.Process(old).kill()
    assert wait_for(lambda: (suite.tick() or True) and m.state == "running" and m.pid != old)
    assert m.restarts == 1 and m.last_exit_code == -9
    assert m.last_reason == "killed by signal SIGKILL"
    row = next(r for r in ServiceRegistry(suite.db).rows() if r["name"] == "news")
    assert (row["restarts"], row["last_exit_code"], row["pid"]) == (1, -9, m.pid)
    assert events(suite, "news")[-3:] == ["exit", "restart", "ready"]


def test_crash_loop_past_the_limit_is_marked_failed_not_restarted(suite, fake_modes):
    suite.start()
    fake_modes["dashboard"] = "exit"  # every restart from now on dies at once
    m = suite.services["dashboard"]
    psutil.Process(m.pid).kill()
    assert wait_for(lambda: (suite.tick() or True) and m.state == "failed")
    assert m.restarts == 2  # crash_loop_limit
    assert m.last_reason.startswith("crash loop: 3 failures within 120s; last: exited with code 3")
    time.sleep(0.3)
    suite.tick()
    assert m.state == "failed" and m.proc is None and m.restarts == 2
    row = next(r for r in ServiceRegistry(suite.db).rows() if r["name"] == "dashboard")
    assert row["status"] == "failed" and row["last_exit_code"] == 3
    assert events(suite, "dashboard")[-1] == "failed"


def test_unhealthy_service_is_restarted_after_the_threshold(suite, fake_modes):
    suite.start()
    m = suite.services["reporting"]
    old = m.pid
    fake_modes["reporting"] = "flaky"
    # restart it through the control path: it comes back healthy, then turns sick
    suite.run_dir.request("restart", "reporting")
    assert wait_for(lambda: (suite.tick() or True) and m.pid not in (None, old), 10)
    sick_pid = m.pid
    assert wait_for(lambda: (suite.tick() or True) and m.pid not in (None, sick_pid), 15)
    evs = events(suite, "reporting")
    assert "unhealthy" in evs
    assert any("health check failed 2 times in a row" in (e["reason"] or "")
               for e in ServiceRegistry(suite.db).events("reporting"))


def test_restart_request_revives_a_failed_service(suite, fake_modes):
    suite.start()
    m = suite.services["news"]
    fake_modes["news"] = "exit"
    psutil.Process(m.pid).kill()
    assert wait_for(lambda: (suite.tick() or True) and m.state == "failed")
    fake_modes["news"] = "healthy"
    suite.run_dir.request("restart", "news")
    assert wait_for(lambda: (suite.tick() or True) and m.state == "running")


def test_services_get_the_malloc_settings_unless_the_environment_sets_them(suite):
    env = child_env({"MALLOC_TRIM_THRESHOLD_": "0", "PATH": "/bin"})
    assert env["MALLOC_TRIM_THRESHOLD_"] == "0" and env["PATH"] == "/bin"  # the user's wins
    assert env["PYTHONUNBUFFERED"] == "1"
    assert child_env({})["MALLOC_TRIM_THRESHOLD_"] == MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"]
    want = os.environ.get("MALLOC_TRIM_THRESHOLD_", MALLOC_ENV["MALLOC_TRIM_THRESHOLD_"])
    suite.start()
    line = next(x for x in suite.console_log("news").read_text().splitlines()
                if x.startswith("malloc trim threshold"))
    assert line.split()[-1] == want


def test_health_failure_restarts_count_towards_the_crash_loop_limit(suite, fake_modes):
    """A service that comes up healthy and then fails its checks, again and again, ends
    ``failed`` (finding 2 of "Hardening, round two": technical analysis hung by a request kept
    being restarted).  Its healthy spell is shorter than ``stable_after_s`` counted from the
    last good probe; before, ``stable_after_s`` ran from the first good probe on even while the
    checks failed, so the restarts were forgotten and it never gave up."""
    suite.policy = type(suite.policy)(0.05, 2.0, 1.0, 2, 120.0)
    suite.cfg = suite.cfg.model_copy(update={"stable_after_s": 0.25})
    suite.start()
    m = suite.services["technical_analysis"]
    fake_modes["technical_analysis"] = "flaky"  # two good probes, then 503 for ever
    suite.run_dir.request("restart", "technical_analysis")
    assert wait_for(lambda: (suite.tick() or True) and m.state == "failed", 20), m.state
    assert m.restarts >= 3  # the requested restart and crash_loop_limit (2) more
    assert m.last_reason.startswith("crash loop: 3 failures within 120s; last: health check")
    assert events(suite, "technical_analysis")[-1] == "failed"
