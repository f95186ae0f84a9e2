"""Rewinding the replay clock starts a new market run (issue 18), through the real services.

Coordination, paper trading, reporting, the stream server and the dashboard run on free
loopback ports over one seeded temp database.  Run 1 trades in the middle of the replay's
first session (a day trade, a position left open); the rewind goes back to that session's
open; run 2 trades the whole session.  Checked: nothing of run 1 is left in the live rows or
dated after the clock, run 1's report reads back unchanged, speed, pace and mode stay, the
day trades are run 2's only, reporting's figures equal paper trading's ledger, equity is
cash plus market value to the cent, workflow runs list run 2's first; then the dashboard's
clock controls in Chromium: plain-word errors for a bad step count and speed, and the
rewind behind a confirmation, at both viewports.
"""
from __future__ import annotations

import sqlite3
import threading
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from shared.db import Database, migrate
from tests.conftest import make_settings, own_market
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
CENT = Decimal("0.01")
SPEED = 130.0


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """The services a rewind touches (and the dashboard) over one seeded database; the
    automation's loop is off: this test places the orders itself."""
    tmp = tmp_path_factory.mktemp("clock-runs")
    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    own_market(settings, db)
    db.close()
    s = Suite(tmp, {"TRADING__coordination__autostart": "false",
                    "TRADING__MARKET__INGEST__HISTORY_DAYS": "{1m: 1, 5m: 1, 1d: 30}"})
    try:
        for name in ("coordination", "paper_trading", "reporting", "paper_streams",
                     "dashboard"):
            s.start(name)
        yield s
    finally:
        s.stop_all()


class Api:
    def __init__(self, suite: Suite) -> None:
        self.suite = suite

    def call(self, method: str, service: str, path: str, **kw: Any) -> Any:
        r = requests.request(method, self.suite.url(service) + path, timeout=120, **kw)
        assert r.status_code < 400, (method, path, r.status_code, r.text[:500])
        return r.json()["data"]

    def get(self, service: str, path: str, **params: Any) -> Any:
        return self.call("GET", service, path, params=params)

    def step(self, n: int) -> dict[str, Any]:
        return self.call("POST", "coordination", "/api/v1/clock", json={"action": "step", "n": n})

    def order(self, symbol: str, side: str, qty: int) -> dict[str, Any]:
        return self.call("POST", "paper_trading", "/api/v1/orders",
                         json={"symbol": symbol, "side": side, "qty": str(qty)})

    def snapshot(self) -> None:
        self.call("POST", "reporting", "/api/v1/report/snapshot", json={})


def _db(suite: Suite) -> sqlite3.Connection:
    conn = sqlite3.connect(f"file:{suite.tmp / 'trading.db'}?mode=ro", uri=True)
    conn.row_factory = sqlite3.Row
    return conn


def _after_clock(suite: Suite, now: str) -> dict[str, int]:
    """Count the live rows dated after the clock's ``now`` (reporting's: its current epochs)."""
    checks = {
        "orders": "SELECT COUNT(*) FROM pt_orders WHERE submitted_at > :now OR updated_at > :now",
        "order_events": "SELECT COUNT(*) FROM pt_order_events WHERE at > :now",
        "fills": "SELECT COUNT(*) FROM pt_fills WHERE filled_at > :now",
        "ledger": "SELECT COUNT(*) FROM pt_ledger WHERE at > :now",
        "day_trades": "SELECT COUNT(*) FROM pt_day_trades WHERE at > :now",
        "events": "SELECT COUNT(*) FROM trade_events WHERE created_at > :now",
        "positions": "SELECT COUNT(*) FROM pt_positions WHERE opened_at > :now",
        "snapshots": "SELECT COUNT(*) FROM report_snapshots s JOIN pt_accounts a "
                     "ON a.id = s.account AND a.epoch = s.epoch WHERE s.ts > :now",
        "workflow": "SELECT COUNT(*) FROM coord_runs WHERE clock_ts > :now AND market_run = "
                    "(SELECT run FROM market_clock)",
    }
    conn = _db(suite)
    try:
        return {k: conn.execute(sql, {"now": now}).fetchone()[0] for k, sql in checks.items()}
    finally:
        conn.close()


def _ledger_pnl(rows: list[dict[str, Any]]) -> Decimal:
    return sum((Decimal(r["amount"]) for r in rows if r["kind"] in ("fill", "commission")),
               Decimal(0))


def _equity_is_cash_plus_value(api: Api) -> None:
    acct = api.get("paper_trading", "/api/v1/account")
    mv = sum((Decimal(p["market_value"]) for p in api.get("paper_trading", "/api/v1/positions")),
             Decimal(0))
    assert Decimal(acct["equity"]).quantize(CENT) == (Decimal(acct["cash"]) + mv).quantize(CENT)


@pytest.fixture(scope="module")
def rewound(suite: Suite) -> dict[str, Any]:
    """Run 1 in the middle of the first session, its figures, then the rewind."""
    api = Api(suite)
    api.call("PATCH", "coordination", "/api/v1/clock",
             json={"pace": "multiplier", "speed": SPEED, "step_minutes": 5})
    api.call("POST", "coordination", "/api/v1/clock", json={"action": "pause"})
    start = api.get("coordination", "/api/v1/clock")
    api.step(24)                                # 11:30 New York
    api.order("AAPL", "buy", 10)
    api.step(1)
    api.order("AAPL", "sell", 10)               # a day trade
    api.order("MSFT", "buy", 5)                 # left open
    api.step(2)
    api.snapshot()
    api.step(3)
    api.snapshot()
    failed_cycle = requests.post(suite.url("coordination") + "/api/v1/cycle", json={},
                                 timeout=120)   # no scanner: a failed workflow run of run 1
    before = {
        "clock": api.get("coordination", "/api/v1/clock"),
        "summary": api.get("reporting", "/api/v1/report/summary"),
        "trades": api.get("reporting", "/api/v1/report/trades"),
        "metrics": api.get("reporting", "/api/v1/report/metrics"),
        "equity": api.get("reporting", "/api/v1/report/equity"),
        "fills": api.get("paper_trading", "/api/v1/fills", limit=1000),
        "orders": api.get("paper_trading", "/api/v1/orders", status="all", limit=1000),
        "risk": api.get("paper_trading", "/api/v1/risk"),
        "events": api.get("paper_trading", "/api/v1/events", limit=1000),
    }
    assert len(before["fills"]) == 3 and before["risk"]["daytrade_count"] == 1, before
    _equity_is_cash_plus_value(api)
    before["account"] = api.get("paper_trading", "/api/v1/account")
    with Reader(suite) as reader:  # reads the account all through the rewind
        after_clock = api.call("POST", "coordination", "/api/v1/clock",
                               json={"action": "rewind"})
    return {"api": api, "start": start, "before": before, "after": after_clock,
            "cycle_status": failed_cycle.status_code, "seen": reader.seen}


class Reader:
    """Read paper trading's account over and over from a thread (what a reader saw)."""

    def __init__(self, suite: Suite) -> None:
        self.url = suite.url("paper_trading") + "/api/v1/account"
        self.seen: list[tuple[str, str, str]] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        with requests.Session() as s:
            while not self.stop.is_set():
                a = s.get(self.url, timeout=30).json()["data"]
                self.seen.append((a["cash"], a["long_market_value"], a["equity"]))

    def __enter__(self) -> Reader:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop.set()
        self.thread.join(30)


def test_rewind_starts_a_clean_run_keeping_speed_and_mode(suite, rewound) -> None:  # type: ignore[no-untyped-def]
    api, before, clock = rewound["api"], rewound["before"], rewound["after"]
    assert clock["run"] == 2 and before["clock"]["run"] == 1
    assert clock["now"] == rewound["start"]["now"] < before["clock"]["now"]
    assert (clock["mode"], clock["pace"], clock["speed"], clock["step_minutes"], clock["paused"]) \
        == ("replay", "multiplier", SPEED, 5, True)
    assert api.get("paper_trading", "/api/v1/orders", status="all") == []
    assert api.get("paper_trading", "/api/v1/fills") == []
    assert api.get("paper_trading", "/api/v1/positions") == []
    assert api.get("paper_trading", "/api/v1/ledger") == []
    acct = api.get("paper_trading", "/api/v1/account")
    assert Decimal(acct["cash"]) == Decimal(acct["equity"]) == Decimal("100000")
    assert api.get("paper_trading", "/api/v1/risk")["daytrade_count"] == 0
    assert api.get("paper_trading", "/api/v1/invariants")["ok"]
    assert api.get("reporting", "/api/v1/report/summary")["trades"] == 0
    # the event feed goes on from where run 1's ended: a client resuming after its last
    # event gets the new run's start, dated at the new clock
    last = max(e["id"] for e in before["events"])
    assert [(e["id"], e["type"], e["data"]["run"], e["created_at"]) for e in api.get(
        "paper_trading", "/api/v1/events", after=last)] == [
        (last + 1, "market_run", 2, clock["now"])]
    assert _after_clock(suite, clock["now"]) == dict.fromkeys(
        ("orders", "order_events", "fills", "ledger", "day_trades", "events", "positions",
         "snapshots", "workflow"), 0)
    runs = api.get("coordination", "/api/v1/clock/runs")
    assert [r["run"] for r in runs] == [2, 1]
    assert runs[1]["clock_end"] == before["clock"]["now"] and runs[1]["speed"] == SPEED
    # a workflow run of run 2 at its open: an earlier clock than run 1's, yet listed first
    requests.post(suite.url("coordination") + "/api/v1/cycle", json={}, timeout=120)


def test_a_reader_sees_the_old_run_whole_or_the_new_run_empty(rewound) -> None:  # type: ignore[no-untyped-def]
    old = rewound["before"]["account"]
    states = {tuple(Decimal(x) for x in st) for st in rewound["seen"]}
    assert states <= {(Decimal(old["cash"]), Decimal(old["long_market_value"]),
                       Decimal(old["equity"])),
                      (Decimal(100000), Decimal(0), Decimal(100000))}, states
    assert len(rewound["seen"]) >= 3


def test_the_closed_run_reads_back_unchanged(rewound) -> None:  # type: ignore[no-untyped-def]
    api, before = rewound["api"], rewound["before"]
    assert api.get("reporting", "/api/v1/report/summary", run=1) == before["summary"]
    assert api.get("reporting", "/api/v1/report/trades", run=1) == before["trades"]
    assert api.get("reporting", "/api/v1/report/metrics", run=1) == before["metrics"]
    assert api.get("reporting", "/api/v1/report/equity", run=1) == before["equity"]
    archived = api.get("paper_trading", "/api/v1/market-runs")
    assert archived["run"] == archived["clock_run"] == 2
    assert archived["archived"][0]["run"] == 1 and archived["archived"][0]["rows"]["fill"] == 3
    fills = api.get("paper_trading", "/api/v1/market-runs/1/fill")
    assert sorted((f["id"], f["price"], f["qty"]) for f in fills) == sorted(
        (f["id"], f["price"], f["qty"]) for f in before["fills"])
    orders = api.get("paper_trading", "/api/v1/market-runs/1/order")
    assert {o["id"] for o in orders} == {o["id"] for o in before["orders"]}
    r = requests.get(rewound["api"].suite.url("reporting") + "/api/v1/report/summary",
                     params={"run": 7}, timeout=10)
    assert r.status_code == 404 and r.json()["error"]["details"]["field"] == "run"


def test_a_full_day_in_the_new_run(suite, rewound) -> None:  # type: ignore[no-untyped-def]
    api = rewound["api"]
    api.step(6)
    api.order("AAPL", "buy", 7)
    api.step(6)
    api.order("MSFT", "buy", 3)
    api.step(6)
    api.order("AAPL", "sell", 7)                # run 2's one day trade
    api.step(12)
    api.snapshot()
    api.order("MSFT", "sell", 3)                # a second round trip, held across hours
    api.step(2)
    api.snapshot()
    api.call("POST", "coordination", "/api/v1/clock",
             json={"action": "advance", "to": "2024-01-02T21:00:00Z"})  # the session's close
    api.snapshot()
    end = api.get("coordination", "/api/v1/clock")
    assert end["run"] == 2 and end["now"] == "2024-01-02T21:00:00+00:00"
    assert api.get("paper_trading", "/api/v1/risk")["daytrade_count"] == 2
    ledger = api.get("paper_trading", "/api/v1/ledger", limit=1000)
    assert ledger and {r["kind"] for r in ledger} <= {"fill", "commission"}
    summary = api.get("reporting", "/api/v1/report/summary")
    assert summary["trades"] == 2 and summary["open_trades"] == 0
    assert Decimal(summary["realized_pnl"]).quantize(CENT) == _ledger_pnl(ledger).quantize(CENT)
    assert Decimal(summary["ledger_cash_flow"]).quantize(CENT) == \
        _ledger_pnl(ledger).quantize(CENT)
    _equity_is_cash_plus_value(api)
    acct = api.get("paper_trading", "/api/v1/account")
    assert Decimal(acct["cash"]) == Decimal("100000") + _ledger_pnl(ledger)
    assert api.get("paper_trading", "/api/v1/invariants")["ok"]
    assert all(v == 0 for v in _after_clock(suite, end["now"]).values())
    # run 1's report is still what it was
    assert api.get("reporting", "/api/v1/report/summary", run=1) == rewound["before"]["summary"]


def test_workflow_runs_list_the_new_run_first(suite, rewound) -> None:  # type: ignore[no-untyped-def]
    api = rewound["api"]
    assert rewound["cycle_status"] in (201, 503)
    runs = api.get("coordination", "/api/v1/runs", limit=10)
    assert [r["market_run"] for r in runs] == [2, 1]
    assert runs[0]["clock_ts"] < runs[1]["clock_ts"]  # an earlier clock, yet listed first
    only = api.get("coordination", "/api/v1/runs", market_run=1)
    assert only and {r["market_run"] for r in only} == {1}


@pytest.mark.parametrize("viewport", [(1366, 768), (1920, 1080)])
def test_clock_controls_in_the_browser(suite, rewound, page, viewport) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": viewport[0], "height": viewport[1]})
    page.goto("/market")
    page.wait_for_selector("#clock-now")
    run = page.locator("#clock-run").inner_text()
    # workflow runs say their market run; run 2's (an earlier clock) above run 1's
    heads = page.locator("#workflow .runhead")
    expect(heads.first).to_contain_text("market run 2")
    expect(heads.nth(1)).to_contain_text("market run 1")
    # a step count that is not a number: said plainly, the clock not moved
    now = page.locator("#clock").get_attribute("data-now")
    page.fill("#step-n", "abc")
    page.click("#clock-step")
    err = page.locator("#err-clock")
    expect(err).to_contain_text("whole number")
    assert '"abc"' in err.inner_text()
    assert page.locator("#clock").get_attribute("data-now") == now
    # the server says it plainly too (a script, or a page of an older version)
    r = requests.post(suite.url("dashboard") + "/api/v1/clock/step", json={"n": "abc"}, timeout=10)
    assert r.status_code == 400 and r.json()["error"]["details"]["field"] == "n"
    assert "Input should" not in r.json()["error"]["message"]
    page.fill("#step-n", "1")
    page.fill("#speed", "-3")
    page.click("#set-speed")
    expect(err).to_contain_text("Speed must be")
    assert "Input should" not in err.inner_text() and "greater than 0" in err.inner_text()
    page.fill("#speed", str(SPEED))
    # the rewind asks first; Cancel changes nothing
    page.click("#clock-rewind")
    confirm = page.locator("#rewind-confirm")
    confirm.wait_for(state="visible")
    assert f"run {int(run) + 1}" in confirm.inner_text()
    screenshot(page, f"clock-rewind-confirm-{viewport[0]}")
    page.click("#rewind-cancel")
    confirm.wait_for(state="hidden")
    assert page.locator("#clock-run").inner_text() == run
    page.click("#clock-rewind")
    page.click("#rewind-go")
    expect(page.locator("#clock-run")).to_have_text(str(int(run) + 1), timeout=60_000)
    screenshot(page, f"clock-rewound-{viewport[0]}")
    clock = requests.get(suite.url("coordination") + "/api/v1/clock", timeout=10).json()["data"]
    assert clock["speed"] == SPEED and clock["mode"] == "replay"
    bad = [e for e in page.console_errors if "/api/v1/clock/step" not in e
           and "/api/v1/clock/configure" not in e]
    assert not bad, bad


def test_the_manager_reset_command_starts_a_new_run(suite) -> None:  # type: ignore[no-untyped-def]
    import subprocess
    import sys

    from tests.dashboard.harness import ROOT

    before = requests.get(suite.url("coordination") + "/api/v1/clock", timeout=10).json()["data"]
    out = subprocess.run([sys.executable, str(ROOT / "hybrid_manager.py"), "reset"], cwd=ROOT,
                         env=suite.env, capture_output=True, text=True, timeout=180)
    assert out.returncode == 0, out.stdout + out.stderr
    assert f"market run {before['run'] + 1} started at 2024-01-02T14:30:00+00:00" in out.stdout
    assert f"x{SPEED:g}" in out.stdout
    after = requests.get(suite.url("coordination") + "/api/v1/clock", timeout=10).json()["data"]
    assert after["run"] == before["run"] + 1 and after["speed"] == SPEED
