"""Coordination's control routes through the Flask test client, the suite faked behind the
service's gateway: clock, automation, cycle, strategy (validation, change log), runs, ledger."""
from __future__ import annotations

from typing import Any

import pytest

from services.coordination import create_app
from tests.services.coordination.fakes import FakeGateway


@pytest.fixture
def client(settings, db):  # type: ignore[no-untyped-def]
    app = create_app(settings)
    app.extensions["service"]._gateway = FakeGateway()
    return app.test_client()


def _data(resp: Any, status: int = 200) -> Any:
    assert resp.status_code == status, resp.get_json()
    return resp.get_json()["data"]


def _error(resp: Any, status: int) -> dict[str, Any]:
    assert resp.status_code == status, resp.get_json()
    body = resp.get_json()
    assert body["status"] == "error" and body["data"] is None
    return body["error"]


def test_clock_read_configure_and_step(client) -> None:  # type: ignore[no-untyped-def]
    clock = _data(client.get("/api/v1/clock"))
    assert clock["mode"] == "replay" and clock["is_open"] is True
    start = clock["now"]
    cfg = _data(client.patch("/api/v1/clock", json={"pace": "step", "step_minutes": 15}))
    assert (cfg["pace"], cfg["step_minutes"], cfg["now"]) == ("step", 15, start)
    stepped = _data(client.post("/api/v1/clock", json={"action": "step", "n": 2}))
    assert stepped["now"] == "2024-01-02T15:00:00+00:00" and start == "2024-01-02T14:30:00+00:00"
    err = _error(client.patch("/api/v1/clock", json={"speed": -1}), 400)
    assert "speed" in str(err)
    err = _error(client.post("/api/v1/clock", json={"action": "advance"}), 400)
    assert "to" in str(err.get("details")) or "'to'" in err["message"]
    err = _error(client.post("/api/v1/clock", json={"action": "advance",
                                                    "to": "2024-01-02T14:00:00+00:00"}), 409)
    assert "back" in err["message"]


def test_automation_states(client) -> None:  # type: ignore[no-untyped-def]
    assert _data(client.get("/api/v1/automation"))["state"] == "stopped"
    run = _data(client.post("/api/v1/automation", json={"state": "running"}))
    assert run["state"] == "running"
    paused = _data(client.post("/api/v1/automation", json={"state": "paused"}))
    assert paused["state"] == "paused" and paused["acknowledged"] is True
    err = _error(client.post("/api/v1/automation", json={"state": "sleeping"}), 400)
    assert "state" in str(err)


def test_cycle_runs_and_decisions(client) -> None:  # type: ignore[no-untyped-def]
    run = _data(client.post("/api/v1/cycle", json={}), 201)
    assert run["status"] == "ok" and run["summary"]["orders"] == 2
    runs = _data(client.get("/api/v1/runs", query_string={"limit": 5}))
    assert [r["id"] for r in runs] == [run["id"]]
    one = _data(client.get(f"/api/v1/runs/{run['id']}"))
    assert one["steps"][0]["name"] == "bars" and one["trigger"] == "manual"
    assert _error(client.get("/api/v1/runs/nope"), 404)["code"]
    ledger = _data(client.get("/api/v1/decisions", query_string={"symbol": "BBB"}))
    assert [(d["symbol"], d["action"], d["side"]) for d in ledger] == \
        [("BBB", "enter_short", "sell")]
    assert ledger[0]["run_id"] == run["id"]
    assert _data(client.get("/api/v1/decisions", query_string={"symbol": "ZZZ"})) == []
    assert "limit" in str(_error(client.get("/api/v1/runs", query_string={"limit": 0}), 400))
    # a replay's claimed step is cycled once; the next one after a clock step
    _data(client.patch("/api/v1/clock", json={"pace": "step", "step_minutes": 5}))
    first = _data(client.post("/api/v1/cycle", json={"advance_steps": 1, "claim_step": True}),
                  201)
    assert first["step"] == "2024-01-02T14:35:00+00:00"
    assert _error(client.post("/api/v1/cycle", json={"claim_step": True}), 409)
    assert "advance_steps" in str(_error(client.post("/api/v1/cycle",
                                                     json={"advance_steps": -1}), 400))


def test_strategy_validation_and_change_log(client) -> None:  # type: ignore[no-untyped-def]
    before = _data(client.get("/api/v1/strategy"))
    assert before["entry_threshold"] == 0.25 and before["sizing"]["method"] == "risk"
    for patch, field in (({"entry_threshold": 2}, "entry_threshold"),
                         ({"sizing": {"method": "martingale"}}, "sizing.method"),
                         ({"no_such_key": 1}, "no_such_key"),
                         ({"flatten_minutes_before_close": 60}, "flatten_minutes_before_close")):
        err = _error(client.patch("/api/v1/strategy", json=patch), 400)
        assert field in err["message"] or field in str(err.get("details")), (patch, err)
    assert _data(client.get("/api/v1/strategy")) == before  # nothing was changed
    out = _data(client.patch("/api/v1/strategy", json={"entry_threshold": 0.4,
                                                       "sizing": {"method": "fixed"}}))
    assert out["strategy"]["entry_threshold"] == 0.4
    assert {(c["key"], c["old"], c["new"]) for c in out["changes"]} == {
        ("entry_threshold", 0.25, 0.4), ("sizing.method", "risk", "fixed")}
    log = _data(client.get("/api/v1/strategy/changes"))
    assert {(c["key"], c["old_value"], c["new_value"]) for c in log} == {
        ("entry_threshold", 0.25, 0.4), ("sizing.method", "risk", "fixed")}
    after = _data(client.get("/api/v1/strategy"))
    assert after["entry_threshold"] == 0.4 and after["sizing"]["method"] == "fixed"
    # applied from the next cycle without a restart: fixed $5,000 of AAA at 50 -> 100 shares
    _data(client.post("/api/v1/cycle", json={}), 201)
    svc_orders = client.application.extensions["service"].gateway.orders
    assert svc_orders[0]["qty"] == "100"
