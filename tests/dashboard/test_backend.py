"""The dashboard's backend through Flask's test client, against a real paper-trading server."""
from __future__ import annotations

import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
import talib
from werkzeug.serving import make_server

from dashboard import create_app
from dashboard.charts import chart_payload, session_vwap
from dashboard.live import Poller
from shared.config import Settings
from shared.db import Database, migrate
from shared.errors import NotFound
from shared.http import reset_breakers
from tests.conftest import make_settings, own_market
from tests.dashboard.harness import PACKAGES, free_ports

KEY = "test-key-123"


def _settings(tmp: Path, **extra: Any) -> Settings:
    ports = {f"services__{n}__port": p
             for n, p in zip(PACKAGES, free_ports(len(PACKAGES)), strict=True)}
    return make_settings(tmp, dashboard__upstream_timeout_s=1.0, http__breaker_reset_s=0.5,
                         **ports, **extra)


class Server:
    """A real service app served by werkzeug on its settings' port, in a thread."""

    def __init__(self, name: str, settings: Settings) -> None:
        from importlib import import_module

        app = import_module(PACKAGES[name]).create_app(settings)
        self.srv = make_server("127.0.0.1", settings.port(name), app, threaded=True)
        self.thread = threading.Thread(target=self.srv.serve_forever, daemon=True)
        self.thread.start()

    def stop(self) -> None:
        self.srv.shutdown()
        self.srv.server_close()


@pytest.fixture
def env(tmp_path: Path) -> Iterator[tuple[Settings, Any, Server]]:
    reset_breakers()
    settings = _settings(tmp_path)
    db = Database.from_settings(settings)
    migrate(db)
    paper = Server("paper_trading", settings)
    app = create_app(settings)
    yield settings, app, paper
    paper.stop()
    db.close()
    reset_breakers()


def test_overview_tells_running_down_and_not_started(env: tuple[Settings, Any, Server]) -> None:
    settings, app, paper = env
    c = app.test_client()
    data = c.get("/api/v1/overview").get_json()["data"]
    by = {s["name"]: s for s in data["services"]}
    assert by["paper_trading"]["state"] == "running"
    assert by["paper_trading"]["latency_ms"] is not None and by["paper_trading"]["pid"]
    assert by["scanner"]["state"] == "not started"
    assert data["down"] == []
    paper.stop()
    data = c.get("/api/v1/overview").get_json()["data"]
    by = {s["name"]: s for s in data["services"]}
    assert by["paper_trading"]["state"] == "down"
    assert data["down"] == ["paper_trading"]


def test_reads_turn_down_and_missing_endpoints_into_values(env: tuple[Settings, Any, Server]) -> None:
    _, app, _ = env
    c = app.test_client()
    r = c.get("/api/v1/upstream/coordination/workflow/runs")
    assert r.status_code == 200
    assert r.get_json()["data"]["available"] is False and r.get_json()["data"]["down"] is True
    r = c.get("/api/v1/upstream/paper_trading/no-such-endpoint")
    assert r.status_code == 200
    assert r.get_json()["data"] == {
        "available": False, "service": "paper_trading", "path": "/api/v1/no-such-endpoint",
        "message": "paper_trading does not offer /api/v1/no-such-endpoint yet"}
    acct = c.get("/api/v1/upstream/paper_trading/account").get_json()["data"]
    assert acct["available"] is True and acct["data"]["cash"]
    assert c.get("/api/v1/upstream/nope/x").status_code == 404
    assert c.get("/api/v1/upstream/paper_trading/../health").status_code in (400, 404)


def test_orders_are_forwarded_and_errors_keep_their_field(env: tuple[Settings, Any, Server]) -> None:
    settings, app, _ = env
    db = Database.from_settings(settings)
    own_market(settings, db)  # orders are taken for the market's symbols only
    db.close()
    c = app.test_client()
    bad = c.post("/api/v1/upstream/paper_trading/orders", json={
        "symbol": "MSFT", "side": "buy", "type": "limit", "qty": "-5", "limit_price": "10"})
    assert bad.status_code == 422  # Alpaca: a quantity of 0 or less is a 422
    assert bad.get_json()["error"]["details"]["field"] == "qty"
    good = c.post("/api/v1/upstream/paper_trading/orders", json={
        "symbol": "MSFT", "side": "buy", "type": "limit", "qty": "2", "limit_price": "1.50"})
    assert good.status_code == 201, good.get_json()
    oid = good.get_json()["data"]["id"]
    listed = c.get("/api/v1/upstream/paper_trading/orders?status=open").get_json()["data"]["data"]
    assert [o["id"] for o in listed] == [oid]
    assert c.delete(f"/api/v1/upstream/paper_trading/orders/{oid}").status_code == 200
    listed = c.get("/api/v1/upstream/paper_trading/orders?status=open").get_json()["data"]["data"]
    assert listed == []


def test_clock_reads_the_database_and_controls_say_unavailable(env: tuple[Settings, Any, Server]) -> None:
    _, app, _ = env
    c = app.test_client()
    clock = c.get("/api/v1/clock").get_json()["data"]
    assert clock["source"] == "database" and clock["controls"] is False
    assert clock["mode"] == "replay" and clock["now"].startswith("2024-01-02")
    r = c.post("/api/v1/clock/pause", json={})
    assert r.status_code == 503  # coordination is not running: said, not faked


def test_chart_is_cut_at_the_clock_and_matches_talib(env: tuple[Settings, Any, Server]) -> None:
    settings, app, _ = env
    db = Database.from_settings(settings)
    own_market(settings, db, history_days={"5m": 7})  # what coordination's feed stores
    db.close()
    data = app.test_client().get("/api/v1/chart/AAPL?timeframe=5m&bars=100").get_json()["data"]
    assert len(data["candles"]) == 100
    now = pd.Timestamp(data["as_of"]).timestamp()
    assert data["candles"][-1]["time"] + 300 <= now  # only closed bars
    assert all(a["time"] < b["time"] for a, b in zip(data["candles"], data["candles"][1:],
                                                          strict=False))
    assert app.test_client().get("/api/v1/chart/AAPL?timeframe=7m").status_code == 400


def test_chart_payload_overlays() -> None:
    idx = pd.date_range("2024-01-02 14:30", periods=120, freq="1min", tz="UTC")
    rng = np.random.default_rng(1)
    close = 100 + np.cumsum(rng.normal(0, 0.2, len(idx)))
    df = pd.DataFrame({"open": close, "high": close + 0.3, "low": close - 0.3, "close": close,
                       "volume": rng.integers(100, 1000, len(idx))}, index=idx)
    out = chart_payload(df, bars=50)
    assert len(out["candles"]) == 50
    sma = talib.SMA(close, timeperiod=20)[-50:]
    assert [p["value"] for p in out["overlays"]["SMA 20"]] == pytest.approx(sma, abs=1e-4)
    typical = (df.high + df.low + df.close) / 3
    vwap = (typical * df.volume).cumsum() / df.volume.cumsum()
    assert session_vwap(df) == pytest.approx(vwap.to_numpy())
    assert out["candles"][0]["time"] == int(idx[70].timestamp())


def test_log_tail(env: tuple[Settings, Any, Server]) -> None:
    settings, app, _ = env
    path = Path(settings.log_dir) / "scanner.log"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("".join(f"line {i}\n" for i in range(100)))
    data = app.test_client().get("/api/v1/services/scanner/logs?lines=3").get_json()["data"]
    assert data["lines"] == ["line 97", "line 98", "line 99"]
    assert app.test_client().get("/api/v1/services/evil/logs").status_code == 404


def test_poller_publishes_changes_only_and_survives_a_failing_source() -> None:
    state = {"n": 0}

    def boom() -> Any:
        raise RuntimeError("upstream exploded")

    p = Poller({"count": lambda: {"n": state["n"]}, "bad": boom}, interval_s=0.05)
    assert p.poll_once() == 2
    assert p.poll_once() == 0  # nothing changed: nothing sent
    state["n"] = 1
    assert p.poll_once() == 1
    assert '"available":false' in p.latest["bad"][1] and "exploded" in p.latest["bad"][1]
    frames = list(p.subscribe({"count"}, max_s=0.3, heartbeat_s=0.1))
    p.stop()
    text = "".join(frames)
    assert text.startswith("retry: 2000")
    assert 'event: count\ndata: {"n":1}' in text and "event: bad" not in text
    assert text.rstrip().endswith("data: {}") and "event: reconnect" in text


def test_stream_endpoint_redirects_to_the_stream_server(tmp_path: Path) -> None:
    """The live stream is served by the stream server (its semantics: tests/services/
    paper_trading/test_streaming_sse.py); the pages' CSP lets them connect there."""
    settings = _settings(tmp_path)
    db = Database.from_settings(settings)
    migrate(db)
    client = create_app(settings).test_client()
    resp = client.get("/api/v1/stream?topics=health,clock", headers={"Host": "localhost:5010"})
    port = settings.port("paper_streams")
    assert resp.status_code == 307
    assert resp.headers["Location"] == \
        f"http://localhost:{port}/api/v1/dashboard/stream?topics=health%2Cclock"
    page = client.get("/trading", headers={"Host": "localhost:5010"})
    csp = page.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and f"connect-src 'self' http://localhost:{port}" in csp
    db.close()


# -- login, session cookie and CSRF ------------------------------------------------------------
@pytest.fixture
def keyed(tmp_path: Path) -> Iterator[Any]:
    reset_breakers()
    settings = _settings(tmp_path, security__api_key=KEY)
    db = Database.from_settings(settings)
    migrate(db)
    yield create_app(settings)
    db.close()


def test_reads_stay_open_with_a_key(keyed: Any) -> None:
    c = keyed.test_client()
    assert c.get("/api/v1/overview").status_code == 200
    assert c.get("/trading").status_code == 200


def test_actions_need_login_and_csrf(keyed: Any) -> None:
    c = keyed.test_client()
    r = c.post("/api/v1/clock/pause", json={})
    assert r.status_code == 401 and r.get_json()["error"]["details"]["field"] == "session"
    bad = c.post("/login", data={"api_key": "wrong", "next": "/trading"})
    assert bad.status_code == 401 and b"not the one" in bad.data
    ok = c.post("/login", data={"api_key": KEY, "next": "//evil.example"})
    assert ok.status_code == 302 and ok.headers["Location"] == "/"
    cookie = ok.headers["Set-Cookie"]
    assert "HttpOnly" in cookie and "SameSite=Strict" in cookie
    r = c.post("/api/v1/clock/pause", json={})
    assert r.status_code == 403 and r.get_json()["error"]["details"]["field"] == "X-CSRF-Token"
    token = c.get("/api/v1/session").get_json()["data"]["csrf_token"]
    r = c.post("/api/v1/clock/pause", json={}, headers={"X-CSRF-Token": "x" + token})
    assert r.status_code == 403
    r = c.post("/api/v1/clock/pause", json={}, headers={"X-CSRF-Token": token})
    assert r.status_code == 503  # past the guard: coordination is simply not running
    c.post("/logout", headers={"X-CSRF-Token": token})
    assert c.post("/api/v1/clock/pause", json={},
                  headers={"X-CSRF-Token": token}).status_code == 401


def test_scripts_may_use_the_key_header(keyed: Any) -> None:
    c = keyed.test_client()
    assert c.post("/api/v1/clock/pause", json={}, headers={"X-API-Key": "nope"}).status_code == 401
    assert c.post("/api/v1/clock/pause", json={}, headers={"X-API-Key": KEY}).status_code == 503


def test_pages_carry_no_inline_script(keyed: Any) -> None:
    from dashboard.pages import PAGES

    c = keyed.test_client()
    for _name, path, _title in [*PAGES, ("login", "/login", "Log in")]:
        r = c.get(path)
        assert r.status_code == 200
        html = r.get_data(as_text=True)
        assert "<script>" not in html and "http://" not in html.replace(
            "https://www.tradingview.com/", "")
        assert "default-src 'self'" in r.headers["Content-Security-Policy"]


def test_restart_goes_to_the_running_manager(env: tuple[Settings, Any, Server]) -> None:
    from shared.supervisor.rundir import RunDir

    settings, app, _ = env
    c = app.test_client()
    r = c.post("/api/v1/services/scanner/restart")
    assert r.status_code == 503 and "no manager" in r.get_json()["error"]["message"]
    rd = RunDir.for_settings(settings)
    rd.acquire()  # this test process plays the manager: it holds the suite's lock
    try:
        r = c.post("/api/v1/services/scanner/restart")
        assert r.status_code == 202, r.get_json()
        assert r.get_json()["data"]["via"] == "manager"
        assert rd.take_requests() == [("restart", "scanner")]
    finally:
        rd.release()
    assert c.post("/api/v1/services/bogus/restart").status_code == 404


@pytest.fixture
def with_coord(env: tuple[Settings, Any, Server]) -> Iterator[tuple[Settings, Any]]:
    """``env`` plus a real coordination server (its workflow loop not started)."""
    settings, _, _ = env
    settings = settings.model_copy(update={"coordination": settings.coordination.model_copy(
        update={"autostart": False})})
    coord = Server("coordination", settings)
    try:
        yield settings, create_app(settings)
    finally:
        coord.stop()


def test_clock_controls_go_to_coordination(with_coord: tuple[Settings, Any]) -> None:
    _, app = with_coord
    c = app.test_client()
    clock = c.get("/api/v1/clock").get_json()["data"]
    assert clock["source"] == "coordination" and clock["controls"] is True
    assert clock["session"] == "2024-01-02" and clock["next_close"].startswith("2024-01-02T21:00")
    assert c.post("/api/v1/clock/pause", json={}).get_json()["data"]["paused"] is True
    before = pd.Timestamp(c.get("/api/v1/clock").get_json()["data"]["now"])
    after = c.post("/api/v1/clock/step", json={"n": 3}).get_json()["data"]
    assert pd.Timestamp(after["now"]) - before == pd.Timedelta(minutes=3 * after["step_minutes"])
    conf = c.post("/api/v1/clock/configure", json={"speed": 120, "pace": "multiplier"})
    assert conf.status_code == 200 and conf.get_json()["data"]["speed"] == 120
    bad = c.post("/api/v1/clock/configure", json={"speed": -1})
    assert bad.status_code == 400 and bad.get_json()["error"]["details"]["field"] == "speed"
    assert c.post("/api/v1/clock/configure", json={"warp": 1}).status_code == 400
    assert c.post("/api/v1/clock/warp", json={}).status_code == 404


def test_automation_cycle_workflow_and_decisions(with_coord: tuple[Settings, Any]) -> None:
    _, app = with_coord
    c = app.test_client()
    assert c.get("/api/v1/automation").get_json()["data"]["data"]["state"] == "stopped"
    r = c.post("/api/v1/automation", json={"state": "paused"})
    assert r.status_code == 200 and r.get_json()["data"]["state"] == "paused"
    assert c.post("/api/v1/automation", json={"state": "warp"}).status_code == 400
    c.post("/api/v1/clock/pause", json={})
    run = c.post("/api/v1/cycle", json={"advance_steps": 1})
    assert run.status_code == 201, run.get_json()
    run = run.get_json()["data"]
    wf = c.get("/api/v1/workflow").get_json()["data"]
    assert wf["available"] is True and wf["runs"][0]["id"] == run["id"]
    steps = wf["runs"][0]["steps"]
    assert steps and all("duration_ms" in s and "status" in s for s in steps)
    # the scanner is down: the run says so instead of pretending
    assert run["status"] in ("degraded", "failed")
    assert c.get("/api/v1/decisions").status_code == 400  # a filter is required
    assert c.get("/api/v1/decisions?decision_id=nope").get_json()["data"] == []


def test_coordination_down_is_a_value_for_workflow_and_automation(
        env: tuple[Settings, Any, Server]) -> None:
    _, app, _ = env
    c = app.test_client()
    for path in ("/api/v1/workflow", "/api/v1/automation"):
        data = c.get(path).get_json()["data"]
        assert data["available"] is False and data["down"] is True, path
    assert c.post("/api/v1/cycle", json={}).status_code == 503


class _LegBackend:
    """Answers as coordination and paper trading do for a bracket whose stop leg filled."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, str, dict[str, Any]]] = []

    def call(self, name: str, method: str, path: str, **kw: Any) -> Any:
        self.calls.append((name, path, kw.get("params") or {}))
        if name == "paper_trading":
            if path == "/api/v1/orders/leg-1":
                return {"id": "leg-1", "parent_id": "entry-1", "leg": "stop_loss"}
            raise NotFound("order not found", field="order_id")
        oid = (kw.get("params") or {}).get("order_id")
        return [{"decision_id": "d1", "order_id": "entry-1"}] if oid == "entry-1" else []


def test_a_bracket_legs_fill_is_explained_by_its_entrys_decision() -> None:
    from dashboard.coordination import Coordination

    backend = _LegBackend()
    coord = Coordination(backend)  # type: ignore[arg-type]
    assert coord.decisions(order_id="leg-1") == [{"decision_id": "d1", "order_id": "entry-1"}]
    assert coord.decisions(order_id="entry-1")[0]["decision_id"] == "d1"
    assert coord.decisions(order_id="hand-placed") == []  # no parent: nothing invented
    assert ("paper_trading", "/api/v1/orders/hand-placed", {}) in backend.calls
