import sqlite3
import time
from datetime import UTC, datetime, timedelta

import pytest

from shared.supervisor.heartbeat import Heartbeat
from shared.supervisor.registry import Registration, ServiceRegistry

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


def reg(pid=100, port=5001):
    return Registration("scanner", port, pid, "0.1.0", "host-a", T0)


def test_register_then_manager_record_keep_each_others_columns(db):
    r = ServiceRegistry(db)
    r.record("scanner", port=5001, pid=100, version="0.1.0", status="starting", restarts=2,
             exit_code=-9, reason="killed by signal SIGKILL", event="restart")
    r.register(reg())
    row = r.rows()[0]
    assert (row["pid"], row["status"], row["restarts"], row["last_exit_code"]) == \
        (100, "running", 2, -9)
    assert row["host"] == "host-a" and row["started_at"] == T0.isoformat()
    # the manager's next write does not erase the exit code it is not reporting
    r.record("scanner", port=5001, pid=100, version="0.1.0", status="running", restarts=2,
             latency_ms=3.5, event="ready")
    row = r.rows()[0]
    assert row["last_exit_code"] == -9 and row["health_latency_ms"] == 3.5
    assert [e["event"] for e in r.events("scanner")] == ["ready", "restart"]


def test_heartbeat_only_touches_the_owning_pid(db):
    r = ServiceRegistry(db)
    r.register(reg(pid=100))
    assert r.heartbeat("scanner", 100)
    assert not r.heartbeat("scanner", 999)
    assert not r.heartbeat("news", 100)


def test_rows_report_heartbeat_age(db):
    r = ServiceRegistry(db)
    r.register(reg())
    beat = datetime.fromisoformat(r.rows()[0]["last_heartbeat"])
    assert r.rows(now=beat + timedelta(seconds=12))[0]["heartbeat_age_s"] == 12.0


def test_deregister_marks_stopped_but_never_hides_failed(db):
    r = ServiceRegistry(db)
    r.register(reg())
    r.deregister("scanner", 100)
    assert r.rows()[0]["status"] == "stopped"
    r.record("scanner", port=5001, pid=100, version="0.1.0", status="failed", restarts=5)
    r.deregister("scanner", 100)
    assert r.rows()[0]["status"] == "failed"


def test_bad_status_or_event_is_refused_before_any_write(db):
    r = ServiceRegistry(db)
    with pytest.raises(ValueError, match="status was 'sleeping'"):
        r.record("scanner", port=5001, pid=1, version="v", status="sleeping", restarts=0)
    with pytest.raises(ValueError, match="event was 'boom'"):
        r.record("scanner", port=5001, pid=1, version="v", status="running", restarts=0,
                 event="boom")
    assert r.rows() == [] and r.events() == []


def test_event_is_rolled_back_with_its_registry_row(db, monkeypatch):
    r = ServiceRegistry(db)
    # a CHECK violation on the event must not leave the registry row half-written
    monkeypatch.setattr("shared.supervisor.registry.EVENTS", ("start", "nonsense"))
    with pytest.raises(sqlite3.IntegrityError):
        r.record("scanner", port=5001, pid=1, version="v", status="running", restarts=0,
                 event="nonsense")
    assert r.rows() == []


def test_heartbeat_thread_registers_beats_and_deregisters(db, settings):
    hb = Heartbeat("news", settings, pid=4321, interval_s=0.05)
    hb.start()
    try:
        first = ServiceRegistry(db).rows()[0]
        assert (first["name"], first["pid"], first["status"]) == ("news", 4321, "running")
        assert first["port"] == settings.port("news")
        deadline = datetime.now(UTC) + timedelta(seconds=10)
        while hb.beats < 2 and datetime.now(UTC) < deadline:
            time.sleep(0.01)
        assert hb.beats >= 2
    finally:
        hb.stop()
    assert ServiceRegistry(db).rows()[0]["status"] == "stopped"


def test_heartbeat_registers_again_when_its_row_was_taken_over(db, settings):
    hb = Heartbeat("news", settings, pid=4321, interval_s=60)
    hb.start()
    try:
        ServiceRegistry(db).register(Registration("news", 5008, 999, "v", "h", T0))
        hb.beat()
        assert ServiceRegistry(db).rows()[0]["pid"] == 4321
    finally:
        hb.stop()
