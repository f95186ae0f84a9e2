"""One workflow cycle against a fake suite: degraded by non-critical failures, stopped by
critical ones, every run and step recorded, every order in the decision ledger."""
from __future__ import annotations

from services.coordination.service import CoordinationService
from shared.config import Settings
from shared.db import Database
from tests.services.coordination.fakes import FakeGateway


def _svc(settings: Settings, db: Database, fail: set[str] | None = None) -> CoordinationService:
    return CoordinationService(settings, db, gateway=FakeGateway(fail))


def test_healthy_cycle_enters_both_sides_and_explains_them(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(settings, db)
    run = svc.run_cycle()
    assert run["status"] == "ok" and run["degraded"] == []
    sides = {o["symbol"]: o["side"] for o in svc.gateway.orders}
    assert sides == {"AAA": "buy", "BBB": "sell"}
    aaa = svc.gateway.orders[0]
    # risk sizing: 0.5% of 100,000 at risk over a 2-ATR stop (2.00) -> 250 shares, capped by
    # 20% of equity at 50 -> 400: 250 shares, stop 48, target 54 (2R)
    assert (aaa["qty"], aaa["order_class"]) == ("250", "bracket")
    assert aaa["stop_loss"] == {"stop_price": "48.00"}
    assert aaa["take_profit"] == {"limit_price": "54.00"}
    ledger = {d["symbol"]: d for d in svc.ledger()}
    assert ledger["AAA"]["client_order_id"] == aaa["client_order_id"]
    assert ledger["AAA"]["order_id"] == "o1" and ledger["AAA"]["risk_verdict"] == "accepted"
    assert ledger["AAA"]["sizing"]["method"] == "risk" and ledger["AAA"]["scan"]["rank"] == 1
    rec = svc.run(run["id"])
    assert [s["name"] for s in rec["steps"]] == ["bars", "account", "scan", "analyze", "decide",
                                                  "orders", "snapshot"]
    assert all(s["status"] == "ok" and s["duration_ms"] >= 0 for s in rec["steps"])


def test_failing_non_critical_services_degrade_the_cycle(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(settings, db, fail={"news", "pattern_recognition", "pattern_analysis"})
    run = svc.run_cycle()
    assert run["status"] == "degraded"
    assert run["degraded"] == ["news", "pattern_analysis", "pattern_recognition"]
    assert len(svc.gateway.orders) == 2  # the decision went on without them
    d = svc.ledger(symbol="AAA")[0]
    assert d["degraded"] == ["news", "pattern_analysis", "pattern_recognition"]
    assert d["signals"]["scores"]["news"] is None
    steps = {s["name"]: s for s in svc.run(run["id"])["steps"]}
    assert steps["analyze"]["status"] == "degraded"
    assert "news" in steps["analyze"]["outputs"]["failed"]
    assert svc.runs(10, "degraded")[0]["id"] == run["id"]


def test_failing_reporting_only_degrades(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(settings, db, fail={"reporting"})
    run = svc.run_cycle()
    assert (run["status"], run["degraded"]) == ("degraded", ["reporting"])
    assert len(svc.gateway.orders) == 2


def test_failing_technical_analysis_stops_entries(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(settings, db, fail={"technical_analysis"})
    run = svc.run_cycle()
    assert run["status"] == "degraded" and "technical_analysis" in run["degraded"]
    assert svc.gateway.orders == []  # no entry without the technical score
    assert svc.ledger() == []


def test_failing_paper_trading_fails_the_cycle_and_records_it(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(settings, db, fail={"paper_trading"})
    run = svc.run_cycle()
    assert run["status"] == "failed"
    assert "paper_trading is unavailable" in run["error"]
    rec = svc.run(run["id"])
    assert rec["status"] == "failed"
    steps = [(s["name"], s["status"]) for s in rec["steps"]]
    # the scan ran beside the account and is recorded; nothing after them ran
    assert ("account", "failed") in steps and steps[-1][0] in ("account", "scan")
    assert "analyze" not in [n for n, _ in steps]
    assert svc.gateway.orders == [] and svc.gateway.snapshots == []


def test_one_symbol_failing_in_a_batch_degrades_only_its_view(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(settings, db, fail={"pattern_analysis:AAA"})
    run = svc.run_cycle()
    assert (run["status"], run["degraded"]) == ("degraded", ["pattern_analysis"])
    steps = {s["name"]: s for s in svc.run(run["id"])["steps"]}
    assert steps["analyze"]["outputs"]["failed"] == {
        "pattern_analysis": "service_unavailable: no bars"}
    assert len(svc.gateway.orders) == 2
    aaa, bbb = svc.ledger(symbol="AAA")[0], svc.ledger(symbol="BBB")[0]
    assert aaa["signals"]["scores"]["patterns"] is None  # AAA's chart patterns are unknown
    assert bbb["signals"]["scores"]["patterns"] is not None  # BBB's were served
    assert aaa["signals"]["scores"]["news"] == 0.0


def test_scan_runs_beside_the_account_and_both_are_recorded(settings, db) -> None:  # type: ignore[no-untyped-def]
    svc = _svc(settings, db, fail={"scanner"})
    run = svc.run_cycle()
    assert (run["status"], run["degraded"]) == ("degraded", ["scanner"])
    steps = {s["name"]: s for s in svc.run(run["id"])["steps"]}
    assert steps["scan"]["status"] == "degraded" and "scanner" in steps["scan"]["error"]
    assert steps["account"]["status"] == "ok" and svc.gateway.orders == []


def test_a_batch_splits_into_one_contiguous_run_per_worker() -> None:
    from services.coordination.gateway import _split

    syms = [f"S{i}" for i in range(7)]
    assert _split(syms, 1) == [syms]
    assert _split(syms, 2) == [syms[:4], syms[4:]]
    assert [len(p) for p in _split(syms, 3)] == [3, 2, 2]
    assert _split(syms[:1], 4) == [syms[:1]]  # never an empty request
    assert sum(_split(syms, 5), []) == syms  # order kept


def test_chart_patterns_go_as_one_request_per_worker_and_merge(tmp_path) -> None:  # noqa: ANN001
    from services.coordination.gateway import Gateway
    from tests.conftest import make_settings

    class Patterns:
        def __init__(self) -> None:
            self.bodies: list[list[str]] = []

        def post(self, path: str, json: dict) -> dict:  # noqa: A002 - the client's keyword
            self.bodies.append(json["symbols"])
            return {"results": [{"symbol": s, "detections": [{"pattern": s.lower()}]}
                                if s != "BAD" else
                                {"symbol": s, "error": {"code": "x", "message": "no bars"}}
                                for s in json["symbols"]]}

    for workers, requests_ in ((1, 1), (2, 2)):
        gw = Gateway(make_settings(tmp_path, services__pattern_analysis__workers=workers))
        gw.patterns_c = Patterns()  # type: ignore[assignment]
        out = gw.chart_patterns(["AA", "BAD", "CC"])
        assert len(gw.patterns_c.bodies) == requests_
        assert sorted(sum(gw.patterns_c.bodies, [])) == ["AA", "BAD", "CC"]
        assert out == {"AA": [{"pattern": "aa"}], "BAD": "x: no bars", "CC": [{"pattern": "cc"}]}
