"""A replayed session through the whole running suite: orders, ledger, P&L, determinism."""
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


def _env(tmp: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING__")}
    env.update({f"{k}_PORT": str(BASE + v) for k, v in PORTS.items()})
    env.update(DATABASE_PATH=str(tmp / "suite.db"), LOG_DIR=str(tmp / "logs"),
               TRADING__coordination__autostart="false",
               TRADING__coordination__strategy__timeframe="15m",
               TRADING__coordination__strategy__entry_threshold="0.1",
               TRADING__coordination__strategy__no_entry_minutes_before_close="45",
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


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    tmp = tmp_path_factory.mktemp("suite")
    env = _env(tmp)
    assert _manager(env, "migrate").returncode == 0
    started = _manager(env, "start", "--detach")
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        yield env, tmp
    finally:
        _manager(env, "stop")


def _replay(env: dict[str, str], out: Path) -> dict:
    r = _manager(env, "replay", "--session", SESSION, "--universe", "8", "--out", str(out))
    assert r.returncode == 0, r.stdout + r.stderr
    return json.loads(r.stdout[r.stdout.index("{"):])


def test_session_replay_through_the_suite(suite) -> None:  # type: ignore[no-untyped-def]
    env, tmp = suite
    first = _replay(env, tmp / "run1")
    assert first["cycles"] >= 10
    orders = _get(PORTS["PAPER_TRADING"], "/api/v1/orders", status="all", limit=1000)
    filled = [o for o in orders if o["status"] == "filled"]
    assert filled, "no order was filled"
    ledger = _get(PORTS["COORDINATION"], "/api/v1/decisions", limit=10000)
    by_client = {d["client_order_id"]: d for d in ledger}
    for o in orders:  # bracket legs are listed under their parent, whose decision covers them
        d = by_client.get(o["client_order_id"])
        assert d is not None, f"order {o['id']} has no decision"
        assert d["order_id"] == o["id"] and d["risk_verdict"] == "accepted"
        assert d["sizing"] is not None or d["action"] not in ("enter_long", "enter_short")
    summary = _get(PORTS["REPORTING"], "/api/v1/report/summary")
    assert summary["open_trades"] == 0  # flattened before the close
    assert Decimal(summary["realized_pnl"]).quantize(Decimal("0.01")) == \
        Decimal(summary["ledger_pnl"]).quantize(Decimal("0.01"))
    trips = _trades(tmp / "run1")
    assert sum(Decimal(t[7]) for t in trips) == Decimal(summary["realized_pnl"])
    assert all((tmp / "run1" / n).stat().st_size > 0 for n in ("equity.csv", "report.html",
                                                                "report.json"))
    second = _replay(env, tmp / "run2")
    assert second["cycles"] == first["cycles"]
    assert _trades(tmp / "run2") == trips
