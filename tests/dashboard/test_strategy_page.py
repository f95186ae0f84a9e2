"""The Strategy settings page and the scanner page in headless Chromium, over real services
(coordination, scanner, paper trading, the stream server, the dashboard) on free ports and a
seeded temp database with a small universe: a change is saved and shows in the change log
(who, when, old, new), a bad value gets coordination's message beside its field in plain
words and nothing is saved, the automation turns on and off; the scanner page says in plain
words that no scan has run, then scans with the default day-trading preset and fills every
column with ranked, explained setups; at 1366x768 and 1920x1080."""
from __future__ import annotations

import re
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
VIEWPORTS = [(1366, 768), (1920, 1080)]
UNIVERSE = 60
HISTORY = {"5m": 10, "1d": 40}  # a few sessions for RVOL; 20 days of volume, 14 of ATR


@pytest.fixture(scope="module")
def suite(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Suite]:
    tmp = tmp_path_factory.mktemp("strategy-page")
    settings = make_settings(tmp, market__universe_size=UNIVERSE)
    db = Database.from_settings(settings)
    migrate(db)
    own_market(settings, db, history_days=HISTORY)
    db.close()
    s = Suite(tmp, {"TRADING__coordination__autostart": "false",
                    "TRADING__market__universe_size": str(UNIVERSE),
                    "TRADING__MARKET__INGEST__HISTORY_DAYS": "{5m: 10, 1d: 40}"})
    try:
        for name in ("coordination", "scanner", "paper_trading", "paper_streams", "dashboard"):
            s.start(name)
        yield s
    finally:
        s.stop_all()


def _strategy(suite: Suite) -> dict[str, Any]:
    return requests.get(suite.url("coordination") + "/api/v1/strategy", timeout=10).json()["data"]


def _unexpected(errors: list[str], n_refused: int) -> list[str]:
    """Return the console errors other than the ``n_refused`` refused PATCHes (each logged
    twice: the response and Chromium's "Failed to load resource")."""
    refused = [e for e in errors if "400 PATCH" in e and "/upstream/coordination/strategy" in e]
    loads = [e for e in errors if "Failed to load resource" in e and "status of 400" in e]
    assert len(refused) == len(loads) == n_refused, errors
    return [e for e in errors if e not in refused and e not in loads]


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_strategy_page_saves_logs_and_explains_bad_values(suite, page, width, height) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/strategy")
    expect(page.locator("#s-max_positions")).not_to_have_value("")
    expect(page.locator('nav a[aria-current="page"]')).to_have_text("Strategy")
    assert page.input_value("#s-scanner_preset") == _strategy(suite)["scanner_preset"]
    before = _strategy(suite)
    new_max = before["max_positions"] + 1
    new_news = round(before["weights"]["news"] + 0.05, 2)

    # a good change: saved, read back, and in the change log with who/when/old/new
    page.fill("#s-max_positions", str(new_max))
    page.fill("#s-weights-news", str(new_news))
    assert "2 unsaved changes" in page.text_content("#strategy-dirty")
    page.click("#save-strategy")
    row = page.locator("#change-log tr", has_text="Open positions at most").first
    row.wait_for()
    cells = row.locator("td").all_text_contents()
    assert re.match(r"\d{4}-\d\d-\d\d \d\d:\d\d:\d\d", cells[0]) and cells[1].startswith("dashboard")
    assert cells[3:] == [str(before["max_positions"]), str(new_max)]
    assert page.locator("#change-log tr", has_text="News weight").count() >= 1
    after = _strategy(suite)
    assert after["max_positions"] == new_max and after["weights"]["news"] == new_news
    assert page.input_value("#s-max_positions") == str(new_max)

    # bad values: each message beside its field in the field's words; nothing saved
    page.fill("#s-sizing-fixed_dollars", "Infinity")
    page.fill("#s-weights-technical", "11")
    page.fill("#s-max_holding_minutes", "-5")
    page.click("#save-strategy")
    err = page.locator("#err-weights-technical")
    err.wait_for()
    assert err.text_content().startswith("Technical strategies must be a number from 0 to 10")
    assert "got 11" in err.text_content()
    assert page.text_content("#err-sizing-fixed_dollars").startswith("Fixed dollars must be")
    assert "at most the account's equity ($100,000.00); got 'Infinity'" in page.text_content(
        "#err-sizing-fixed_dollars")
    assert "from 1 to 390" in page.text_content("#err-max_holding_minutes")
    assert page.get_attribute("#s-weights-technical", "aria-invalid") == "true"
    assert "Nothing was saved" in page.text_content("#err-strategy")
    assert _strategy(suite) == after
    page.mouse.wheel(0, -10_000)
    screenshot(page, f"strategy-errors-{width}")

    # a size beyond the account's equity, alone
    page.click("#reset-strategy")
    page.fill("#s-sizing-fixed_dollars", "5000000")
    page.click("#save-strategy")
    page.locator("#err-sizing-fixed_dollars").wait_for()
    assert "account's equity ($100,000.00)" in page.text_content("#err-sizing-fixed_dollars")
    assert _strategy(suite) == after
    page.click("#reset-strategy")

    # automation on and off
    page.click('[data-auto="running"]')
    expect(page.locator("#sauto-state")).to_have_text("running")
    page.click('[data-auto="stopped"]')
    expect(page.locator("#sauto-state")).to_have_text("stopped")
    expect(page.locator("#sauto-text")).to_contain_text("Off: it does not trade")
    page.mouse.wheel(0, -10_000)  # back to the top: the full-page shot keeps the header there
    screenshot(page, f"strategy-{width}")
    assert _unexpected(page.console_errors, 2) == []


def test_scanner_page_says_in_plain_words_that_no_scan_ran(suite, page) -> None:  # type: ignore[no-untyped-def]
    page.goto("/scanner")
    page.locator("#matches [role=status]").wait_for()
    text = page.text_content("#matches")
    assert text.startswith("No scan has run yet.") and "Run scan" in text
    assert "/api/" not in page.text_content("main") and "POST" not in page.text_content("main")
    assert page.input_value("#preset") == "day_trading"
    assert "any one of" in page.text_content("#preset-note")
    screenshot(page, "scanner-no-scan-yet")
    assert page.console_errors == []


@pytest.mark.parametrize(("width", "height"), VIEWPORTS)
def test_scanner_page_ranks_setups_with_every_column_filled(suite, page, width, height) -> None:  # type: ignore[no-untyped-def]
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/scanner")
    expect(page.locator("#preset")).to_have_value("day_trading")
    page.click("#run-scan")
    page.locator("#matches tbody tr td.num").first.wait_for(timeout=90_000)
    meta = page.text_content("#scan-meta")
    m = re.match(r"day_trading · (\d+) of (\d+) matched", meta)
    assert m and 0 < int(m.group(1)) < int(m.group(2)) == UNIVERSE, meta
    heads = page.locator("#matches thead th").all_text_contents()
    rows = [r.locator("td").all_text_contents() for r in page.locator("#matches tbody tr").all()]
    col = {h: i for i, h in enumerate(heads)}
    for r in rows:
        for h in ("Sector", "Score", "Chg %", "Gap %", "RVOL", "RSI"):
            assert r[col[h]] not in ("—", ""), (h, r)
        assert float(r[col["Score"]]) > 0
        assert "in play:" in r[col["Why it matched"]] and "avg $ volume $" in r[col["Why it matched"]]
    scores = [float(r[col["Score"]]) for r in rows]
    assert scores == sorted(scores, reverse=True)
    syms = [r[col["Symbol"]] for r in rows]
    assert len(syms) < 3 or syms != sorted(syms)
    screenshot(page, f"scanner-day-trading-{width}")
    assert page.console_errors == []
