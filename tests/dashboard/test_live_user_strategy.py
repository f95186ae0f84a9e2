"""A user's strategy class, unchanged, selected as the live suite's strategy at run time
(issue 17), through the real services on free loopback ports over one seeded database.

Technical analysis gets docs/strategies/sma_cross.py:SmaCross (fast=3, slow=8) added over its
API and the built-ins switched off or weighted 0; coordination's cycles then enter from its
signal: the decision ledger carries the class's rule ("SMA(3) crossed ...") and paper trading
holds the order placed from it.  Then the dashboard's "Technical strategies" section in
Chromium at both viewports: the list, a refused value in words, adding a file's class, the log.
"""
from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

import pytest
import requests
from playwright.sync_api import expect

from shared.db import Database, migrate
from tests.conftest import make_settings, own_market
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(300)]
BUILTINS = ("sma_cross", "ema_cross", "macd_cross", "rsi_reversion", "bbands_breakout",
            "stochrsi_ema", "vwap_reclaim", "opening_range_breakout")


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    """The services a cycle needs (patterns and news stay down: the cycle runs degraded
    without them) and the dashboard; the automation's loop is off: the test runs cycles."""
    tmp = tmp_path_factory.mktemp("live-user-strategy")
    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    own_market(settings, db)
    db.close()
    s = Suite(tmp, {"TRADING__coordination__autostart": "false",
                    # two worker processes: each must pick up a change made through the other
                    "TRADING__services__technical_analysis__workers": "2",
                    "TRADING__MARKET__INGEST__HISTORY_DAYS": "{1m: 1, 5m: 1, 1d: 30}"})
    try:
        for name in ("coordination", "scanner", "technical_analysis", "paper_trading",
                     "paper_streams", "dashboard"):
            s.start(name)
        yield s
    finally:
        s.stop_all()


def _call(suite: Suite, method: str, service: str, path: str, **kw: Any) -> Any:
    r = requests.request(method, suite.url(service) + path, timeout=120, **kw)
    assert r.status_code < 400, (method, path, r.status_code, r.text[:800])
    return r.json()["data"]


def test_a_cycle_enters_from_the_user_strategy(suite: Suite) -> None:
    t0 = time.monotonic()
    added = _call(suite, "POST", "technical_analysis", "/api/v1/strategies",
                  headers={"X-Changed-By": "e2e"},
                  json={"name": "mine", "file": "docs/strategies/sma_cross.py:SmaCross",
                        "params": {"fast": 3, "slow": 8}, "weight": 5})
    assert added["kind"] == "user" and added["params"] == {"fast": 3, "slow": 8}
    for name in BUILTINS:
        body = {"weight": 0} if name in ("ema_cross", "macd_cross") else {"enabled": False}
        _call(suite, "PUT", "technical_analysis", f"/api/v1/strategies/{name}", json=body)
    pids: dict[int, list[str]] = {}
    deadline = time.monotonic() + 30  # /health lands on either worker: both run them
    while len(pids) < 2 and time.monotonic() < deadline:  # (a busy worker answers later)
        h = _call(suite, "GET", "technical_analysis", "/health")
        pids[h["pid"]] = h["strategies"]
        time.sleep(0.02)
    assert len(pids) == 2, pids
    for names in pids.values():
        assert sorted(names) == ["ema_cross", "macd_cross", "mine"]
    _call(suite, "PATCH", "coordination", "/api/v1/strategy", json={
        "weights": {"technical": 1, "patterns": 0, "candles": 0, "news": 0},
        "timeframe": "1m", "scanner_preset": None, "max_candidates": 40, "max_positions": 50,
        "entry_threshold": 0.25})
    entry = None
    for _ in range(12):  # each cycle steps the clock: a 3/8 cross on the last bar soon shows
        _call(suite, "POST", "coordination", "/api/v1/cycle", json={"advance_steps": 1})
        decisions = _call(suite, "GET", "coordination", "/api/v1/decisions")
        rows = decisions["decisions"] if isinstance(decisions, dict) else decisions
        for d in rows:
            sigs = ((d.get("signals") or {}).get("signals")) or []
            mine = [s for s in sigs if s["strategy"] == "mine"]
            if d.get("order_id") and mine and mine[0]["direction"] != "flat":
                entry = (d, mine[0], sigs)
                break
        if entry:
            break
    assert entry, "no entry from the user strategy in 12 cycles"
    d, mine, sigs = entry
    assert mine["kind"] == "user"
    assert mine["rule"].startswith("SMA(3) crossed " + ("above" if d["side"] == "buy"
                                                       else "below") + " SMA(8)"), mine
    assert {s["strategy"] for s in sigs} == {"mine", "ema_cross", "macd_cross"}
    combined = {c["strategy"]: c["weight"] for c in d["signals"]["combined"]["contributions"]}
    assert combined == {"mine": 5.0, "ema_cross": 0.0, "macd_cross": 0.0}
    order = _call(suite, "GET", "paper_trading", f"/api/v1/orders/{d['order_id']}")
    assert order["symbol"] == d["symbol"] and order["side"] == d["side"]
    log = _call(suite, "GET", "technical_analysis", "/api/v1/strategies/changes")["changes"]
    assert log[-1]["name"] == "mine" and log[-1]["changed_by"] == "e2e"
    print(f"entry from the user strategy after {time.monotonic() - t0:.1f}s")


def _expected_400s(errors: list[str], n: int) -> list[str]:
    """Return the console errors other than the ``n`` refused calls to technical analysis's
    strategies (each logged twice: the response and Chromium's "Failed to load resource")."""
    refused = [e for e in errors if e.startswith("HTTP 4")
               and "/upstream/technical_analysis/strategies" in e]
    loads = [e for e in errors if "Failed to load resource" in e and "status of 4" in e]
    assert len(refused) == len(loads) == n, errors
    return [e for e in errors if e not in refused and e not in loads]


@pytest.mark.parametrize(("width", "height"), [(1366, 768), (1920, 1080)])
def test_the_technical_strategies_section(suite: Suite, page: Any, width: int,
                                          height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/strategy")
    mine = page.locator('[data-strategy="mine"]')
    expect(mine).to_contain_text("docs/strategies/sma_cross.py:SmaCross")
    assert page.input_value("#ta-mine-params_fast") == "3"
    assert page.input_value("#ta-mine-params_slow") == "8"
    assert page.input_value("#ta-mine-weight") == "5"
    expect(page.locator('[data-strategy="rsi_reversion"]')).to_contain_text(
        "built-in: rsi_reversion")
    assert not page.is_checked("#ta-rsi_reversion-enabled")
    expect(page.locator("#ta-meta")).to_contain_text("3 of 9 on")  # mine and the two at weight 0

    # refused values: each in words beside its field; nothing saved
    page.fill("#ta-mine-weight", "150")
    mine.locator("button", has_text="Save").click()
    expect(page.locator("#ta-err-mine-weight")).to_contain_text("100")
    page.fill("#ta-mine-weight", "5")
    page.fill("#ta-mine-params_fast", "three")
    mine.locator("button", has_text="Save").click()
    expect(page.locator("#ta-err-mine-params_fast")).to_have_text(
        "Fast must be a whole number (default 10), was 'three'.")
    assert page.get_attribute("#ta-mine-params_fast", "aria-invalid") == "true"
    rsi = page.locator('[data-strategy="rsi_reversion"]')
    page.fill("#ta-rsi_reversion-params_oversold", "80")
    rsi.locator("button", has_text="Save").click()
    expect(page.locator("#ta-err-rsi_reversion-params_oversold")).to_have_text(
        "Oversold should be less than 50.")
    mine.scroll_into_view_if_needed()
    screenshot(page, f"technical-strategies-errors-{width}")
    got = _call(suite, "GET", "technical_analysis", "/api/v1/strategies")["strategies"]
    assert {s["name"]: s for s in got}["mine"]["params"] == {"fast": 3, "slow": 8}
    # add: a bad name refused beside it, then a class of an allowed file
    opts = page.locator("#ta-new-file option").all_text_contents()
    assert "docs/strategies/rsi_bands.py — RsiBands" in opts
    page.select_option("#ta-new-file", "docs/strategies/rsi_bands.py:RsiBands")
    assert page.input_value("#ta-new-params_period") == "14"
    page.fill("#ta-new-name", "Bad Name")
    page.click("#ta-add-btn")
    expect(page.locator("#ta-err-new-name")).not_to_be_empty()
    name = f"rsi_{width}"
    page.fill("#ta-new-name", name)
    page.fill("#ta-new-params_period", "10")
    page.fill("#ta-new-weight", "2")
    page.click("#ta-add-btn")
    added = page.locator(f'[data-strategy="{name}"]')
    expect(added).to_contain_text("docs/strategies/rsi_bands.py:RsiBands")
    assert page.input_value(f"#ta-{name}-params_period") == "10"
    expect(page.locator("#ta-log tr", has_text=name).first).to_contain_text("added")
    expect(page.locator("#ta-log tr", has_text="mine").first).to_contain_text("e2e")
    expect(page.locator("#ta-log tr", has_text="ema_cross").first).to_contain_text(
        "weight: settings' value → 0")
    page.locator("#ta-h").scroll_into_view_if_needed()
    screenshot(page, f"technical-strategies-{width}")
    # delete it again (the other viewport's run starts from the same list)
    added.locator("button", has_text="Delete").click()
    expect(added).to_have_count(0)
    assert _expected_400s(page.console_errors, 4) == []
