"""A replayed session through the whole running suite: orders, ledger, P&L, determinism.

Each replay runs on a fresh suite (its own database, same market seed): two of them must
give identical trades.  The P&L is checked three ways: the report's round trips, reporting's
own cross-check and paper trading's cash ledger read over its API.
"""
from __future__ import annotations

import csv
import json
import os
import subprocess
import sys
from decimal import Decimal
from pathlib import Path

import pytest
import requests

from shared.config import ROOT

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
BASE = 6300
PORTS = {"COORDINATION": 0, "SCANNER": 1, "PATTERN_ANALYSIS": 2, "TECHNICAL_ANALYSIS": 3,
         "PAPER_TRADING": 5, "PATTERN_RECOGNITION": 6, "NEWS": 8, "REPORTING": 9, "DASHBOARD": 10}
SESSION = "2024-11-29"  # an early close (13:00 New York): a short session
CENT = Decimal("0.01")


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING__")}
    env.update({f"{k}_PORT": str(BASE + v) for k, v in PORTS.items()})
    env.update(DATABASE_PATH=str(tmp / "suite.db"), LOG_DIR=str(tmp / "logs"),
               TRADING__coordination__strategy__timeframe="15m",
               TRADING__coordination__strategy__entry_threshold="0.1",
               TRADING__coordination__strategy__no_entry_minutes_before_close="45",
               TRADING__coordination__strategy__universe_limit="8",
               TRADING__market__clock__replay_start="2024-11-01")
    return env


def _manager(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, str(ROOT / "hybrid_manager.py"), *args], cwd=ROOT,
                          env=env, capture_output=True, text=True, timeout=400)


def _get(port: int, path: str, **params: object) -> object:
    r = requests.get(f"http://127.0.0.1:{BASE + port}{path}", params=params, timeout=30)
    r.raise_for_status()
    return r.json()["data"]


def _trades(out: Path) -> list[tuple[str, ...]]:
    with (out / "trades.csv").open() as f:
        return [tuple(r[k] for k in ("symbol", "side", "entry_time", "exit_time", "entry_qty",
                                     "entry_price", "exit_price", "net_pnl"))
                for r in csv.DictReader(f)]


def _replay_on_fresh_suite(tmp: Path) -> dict:
    """Start a suite on a new database (its loop autostarts, as under ``make run``), replay
    the session through it and gather what the checks need; stop the suite."""
    env = _env(tmp)
    assert _manager(env, "migrate").returncode == 0
    started = _manager(env, "start", "--detach")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        r = _manager(env, "replay", "--session", SESSION, "--universe", "8",
                     "--out", str(tmp / "out"))
        assert r.returncode == 0, r.stdout + r.stderr
        res = json.loads(r.stdout[r.stdout.index("{"):])
        return {
            "replay": res,
            "orders": _get(PORTS["PAPER_TRADING"], "/api/v1/orders", status="all", limit=1000),
            "cash_ledger": _get(PORTS["PAPER_TRADING"], "/api/v1/ledger", limit=1000),
            "account": _get(PORTS["PAPER_TRADING"], "/api/v1/account"),
            "decisions": _get(PORTS["COORDINATION"], "/api/v1/decisions", limit=10000),
            "runs": _get(PORTS["COORDINATION"], "/api/v1/runs", limit=1000),
            "summary": _get(PORTS["REPORTING"], "/api/v1/report/summary"),
            "trades": _trades(tmp / "out"),
        }
    finally:
        _manager(env, "stop")


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, dict, Path]:
    first_dir = tmp_path_factory.mktemp("suite1")
    first = _replay_on_fresh_suite(first_dir)
    second = _replay_on_fresh_suite(tmp_path_factory.mktemp("suite2"))
    return first, second, first_dir


def test_one_cycle_per_step_and_none_degraded(runs) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = runs
    # 14:30 to the 18:00 early close in 15-minute steps: 14 steps and the close itself
    assert first["replay"]["cycles"] == 15
    assert first["replay"]["degraded_cycles"] == 0
    # the loop autostarted on 2024-11-01 and ran until the replay stopped it; from then on
    # it never cycled beside the replay, and no step was cycled twice
    ours = [r for r in first["runs"] if r["clock_ts"].startswith(SESSION)]
    assert len({r["clock_ts"] for r in ours}) == len(ours) == 15
    assert {r["trigger"] for r in ours} == {"replay"}


def test_orders_filled_and_explained(runs) -> None:  # type: ignore[no-untyped-def]
    first, _, _ = runs
    in_session = {d["client_order_id"] for d in first["decisions"]
                  if d["clock_ts"].startswith(SESSION)}
    orders = [o for o in first["orders"] if o["client_order_id"] in in_session
              or (o.get("submitted_at") or "").startswith(SESSION)]
    assert [o for o in orders if o["status"] == "filled"], "no order was filled"
    by_client = {d["client_order_id"]: d for d in first["decisions"]}
    for o in orders:  # bracket legs are listed under their parent, whose decision covers them
        d = by_client.get(o["client_order_id"])
        assert d is not None, f"order {o['id']} has no decision"
        assert d["order_id"] == o["id"] and d["risk_verdict"] == "accepted"
        if d["action"] in ("enter_long", "enter_short"):
            assert d["sizing"] is not None and d["signals"]["scores"]["technical"] is not None
            assert d["scan"] is not None


def test_bracket_exits_only_ever_close_a_position(runs) -> None:  # type: ignore[no-untyped-def]
    """A bracket's stop or target must not fire after the strategy closed the position itself
    (its exit cancels them): a leg fill that opens or flips a position is a phantom trade."""
    first, _, _ = runs
    fills = []
    for o in first["orders"]:
        for rank, x in ((0, o), *((1, leg) for leg in o.get("legs") or [])):
            if Decimal(x.get("filled_qty") or 0) > 0:
                fills.append((x["filled_at"], rank, x["symbol"], x["side"],
                              Decimal(x["filled_qty"]), x is not o))
    pos: dict[str, Decimal] = {}
    legs = 0
    for _, _, sym, side, qty, is_leg in sorted(fills):
        before = pos.get(sym, Decimal(0))
        after = before + (qty if side == "buy" else -qty)
        if is_leg:
            legs += 1
            assert before != 0 and abs(after) <= abs(before) and after * before >= 0, (
                sym, side, qty, before)
        pos[sym] = after
    assert legs > 0, "no bracket leg filled: the check saw nothing"


def test_report_pnl_equals_the_cash_ledger(runs) -> None:  # type: ignore[no-untyped-def]
    first, _, out = runs
    summary = first["summary"]
    assert summary["open_trades"] == 0  # flattened before the close
    # paper trading's cash ledger since the replay's account reset, over its own API
    rows = sorted(first["cash_ledger"], key=lambda r: r["id"])
    reset = max(i for i, r in enumerate(rows) if r["kind"] == "reset")
    cash_pnl = sum((Decimal(r["amount"]) for r in rows[reset + 1:]
                    if r["kind"] in ("fill", "commission")), Decimal(0))
    realized = Decimal(summary["realized_pnl"])
    assert realized.quantize(CENT) == cash_pnl.quantize(CENT)
    assert Decimal(summary["ledger_cash_flow"]).quantize(CENT) == cash_pnl.quantize(CENT)
    assert sum(Decimal(t[7]) for t in first["trades"]) == realized
    assert Decimal(first["account"]["equity"]) == Decimal(first["account"]["cash"])  # flat
    assert all((out / "out" / n).stat().st_size > 0
               for n in ("equity.csv", "report.html", "report.json"))


def test_same_seed_same_trades(runs) -> None:  # type: ignore[no-untyped-def]
    first, second, _ = runs
    assert first["trades"], "no round trip to compare"
    assert second["replay"]["cycles"] == first["replay"]["cycles"]
    assert second["trades"] == first["trades"]
