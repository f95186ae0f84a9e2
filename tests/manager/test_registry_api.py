"""coordination's GET /api/v1/services over a real migrated database."""
import threading
from datetime import UTC, datetime

import pytest

from services.coordination import create_app
from services.coordination.registry_api import State
from shared.config import SERVICES
from shared.supervisor.registry import STATES, Registration, ServiceRegistry

T0 = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)


@pytest.fixture
def client(settings, db):
    return create_app(settings).test_client()


def test_state_literal_matches_the_registry_check_constraint():
    assert set(State.__args__) == set(STATES)


def test_empty_registry_is_an_empty_list(client):
    r = client.get("/api/v1/services")
    assert r.status_code == 200 and r.json["data"] == []


def test_lists_every_registered_service_with_supervision_columns(client, db):
    reg = ServiceRegistry(db)
    reg.register(Registration("scanner", 5001, 11, "0.1.0", "h", T0))
    reg.register(Registration("news", 5008, 12, "0.1.0", "h", T0))
    reg.record("news", port=5008, pid=12, version="0.1.0", status="degraded", restarts=3,
               exit_code=-9, reason="killed by signal SIGKILL", latency_ms=4.5, event="restart")
    rows = client.get("/api/v1/services").json["data"]
    assert [r["name"] for r in rows] == ["news", "scanner"]
    news = rows[0]
    assert (news["state"], news["restarts"], news["last_exit_code"], news["last_reason"],
            news["health_latency_ms"], news["pid"]) == \
        ("degraded", 3, -9, "killed by signal SIGKILL", 4.5, 12)
    assert 0 <= news["heartbeat_age_s"] < 60 and news["stale"] is False
    only = client.get("/api/v1/services?state=running").json["data"]
    assert [r["name"] for r in only] == ["scanner"]


def test_a_running_service_without_recent_heartbeat_is_stale(client, db):
    db.execute_with_retry(
        "INSERT INTO service_registry (name, port, pid, version, started_at, last_heartbeat, "
        "status) VALUES ('scanner', 5001, 1, 'v', ?, ?, 'running')",
        (T0.isoformat(), T0.isoformat()))
    row = client.get("/api/v1/services").json["data"][0]
    assert row["stale"] is True and row["heartbeat_age_s"] > 3600


def test_bad_state_filter_is_a_400_naming_the_field(client):
    r = client.get("/api/v1/services?state=sleeping")
    assert r.status_code == 400 and r.json["error"]["details"]["field"] == "state"
    r = client.get("/api/v1/services?colour=red")
    assert r.status_code == 400 and r.json["error"]["details"]["field"] == "colour"


def test_one_service_with_its_events_and_404s(client, db):
    reg = ServiceRegistry(db)
    reg.record("scanner", port=5001, pid=7, version="v", status="starting", restarts=0,
               event="start", reason="suite start")
    r = client.get("/api/v1/services/scanner")
    assert r.status_code == 200
    assert [e["event"] for e in r.json["data"]["events"]] == ["start"]
    assert client.get("/api/v1/services/news").status_code == 404  # known, never registered
    r = client.get("/api/v1/services/nope")
    assert r.status_code == 404 and "known: coordination" in r.json["error"]["message"]


def test_registry_routes_are_in_the_openapi_document(client):
    paths = client.get("/openapi.json").json["paths"]
    assert "/api/v1/services" in paths and "/api/v1/services/{name}" in paths


def test_creating_every_app_leaves_no_thread_running(settings, db):
    import importlib
    import time

    before = set(threading.enumerate())
    for _, _, module in SERVICES:
        importlib.import_module(module).create_app(settings)
    # flask-limiter's memory storage fires a one-shot 10 ms Timer; only lasting threads count
    deadline = time.monotonic() + 2
    while set(threading.enumerate()) - before and time.monotonic() < deadline:
        time.sleep(0.01)
    assert set(threading.enumerate()) - before == set()
