"""The Backtests page in a real browser against the real dashboard (which runs each backtest
as a ``hybrid_manager.py replay`` subprocess): GOOG with docs/strategies/sma_cross.py, its
progress then its report, a second run with other parameters, the two compared; bad input
answered in words beside the field."""
from __future__ import annotations

import re
import time
from typing import Any

import pytest
import requests

from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import Suite, until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(180)]
pytest.importorskip("backtesting")  # ships GOOG.csv

def _open(page: Any, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/backtests")
    page.wait_for_selector("#bt-strategy option[value='docs:sma_cross.py:SmaCross']",
                           state="attached")


def _run(page: Any, fast: int, slow: int) -> str:
    """Pick GOOG and sma_cross.py with these parameters, run, wait for the report; return
    the run's id."""
    page.select_option("#bt-strategy", "docs:sma_cross.py:SmaCross")
    page.select_option("#bt-data", "bundled:GOOG.csv")
    page.fill("[data-param=fast]", str(fast))
    page.fill("[data-param=slow]", str(slow))
    page.fill("#bt-commission", "0.001")
    before = page.inner_text("#bt-cur-id")
    page.click("[data-testid=bt-run]")
    until(page, "b => { const t = document.querySelector('#bt-cur-id').textContent;"
                           " return t && t !== b; }", arg=before, timeout=30.0)
    seen: list[str] = []  # every state and progress text the page shows, as it changes
    deadline = time.monotonic() + 60
    while not seen or seen[-1].split("|")[0] not in ("done", "failed", "cancelled"):
        assert time.monotonic() < deadline, seen
        text = page.evaluate("() => [...document.querySelectorAll("
                             "'[data-testid=bt-state], [data-testid=bt-progress]')]"
                             ".map(n => n.textContent).join('|')")
        if text and (not seen or seen[-1] != text):
            seen.append(text)
        page.wait_for_timeout(100)
    assert seen[-1] == "done" and any(s.startswith("running|") for s in seen), seen
    if not any(re.search(r"of 2,148 bars \(\d+%\)", s) for s in seen):
        # the page polls every 400 ms and a quick replay can finish between two polls: then
        # the run's own record must still hold the progress the replay reported
        meta = page.evaluate("id => fetch('/api/v1/backtests/runs/' + id).then(r => r.json())",
                             page.inner_text("#bt-cur-id"))
        meta = meta.get("data", meta)
        assert (meta["progress"]["bars_done"], meta["progress"]["bars_total"]) == (2148, 2148), \
            (seen, meta)
    frame = page.frame_locator("[data-testid=bt-report]")
    frame.locator("body").wait_for(timeout=90_000)  # a loaded CI box serves it slowly
    assert "GOOG" in frame.locator("body").inner_text()
    rid = page.inner_text("#bt-cur-id")
    page.wait_for_selector(f"#bt-runs tr[data-run='{rid}'] [data-testid=bt-tick]")  # listed, done
    return rid


def _tick(page: Any, rid: str) -> None:
    box = page.locator(f"#bt-runs tr[data-run='{rid}'] [data-testid=bt-tick]")
    # scrolled first, then a frame later clicked: headless Chromium routes a click made in the
    # same frame as the scroll by the report iframe's old place (it sat over the list before)
    box.scroll_into_view_if_needed()
    page.wait_for_timeout(150)
    box.click()
    assert box.is_checked()


def test_run_two_backtests_and_compare_them(page: Any, suite: Suite) -> None:
    _open(page, 1366, 768)
    params = page.eval_on_selector_all("[data-param]", "ns => ns.map(n => [n.dataset.param, n.value])")
    page.select_option("#bt-strategy", "docs:sma_cross.py:SmaCross")
    params = page.eval_on_selector_all("[data-param]", "ns => ns.map(n => [n.dataset.param, n.value])")
    assert params == [["fast", "10"], ["slow", "20"]]  # the file's defaults, editable
    first = _run(page, 10, 20)
    figs = page.inner_text("[data-testid=bt-figures]")
    assert "Final equity" in figs and "Sharpe" in figs
    screenshot(page, "backtests-run-1366")
    second = _run(page, 5, 30)
    assert first != second
    rows = page.locator("#bt-runs tbody tr")
    assert rows.count() >= 2
    for rid in (first, second):
        _tick(page, rid)
    page.click("[data-testid=bt-compare]")
    page.wait_for_selector("#bt-cmp-chart canvas")
    diff = page.inner_text("#bt-cmp-diff")
    assert "params.fast" in diff and "params.slow" in diff and "data_label" not in diff
    stats = page.inner_text("#bt-cmp-stats")
    assert "Final equity" in stats and "Max drawdown" in stats
    pts = page.eval_on_selector("#bt-cmp-chart", "e => e.dataset.points")
    assert all(int(n) > 100 for n in pts.split(","))
    page.evaluate("scrollTo(0, 0)")  # the sticky header at the top of the full-page picture
    page.wait_for_timeout(300)
    screenshot(page, "backtests-compare-1366")
    assert page.console_errors == []


def _api_run(suite: Suite, fast: int, slow: int) -> str:
    """Run GOOG with sma_cross.py over the API (no page); return the finished run's id."""
    base = suite.url("dashboard")
    rid = requests.post(base + "/api/v1/backtests/runs", timeout=30, json={
        "strategy": "docs:sma_cross.py:SmaCross", "params": {"fast": fast, "slow": slow},
        "data": {"kind": "bundled", "name": "GOOG.csv"}}).json()["data"]["id"]
    deadline = time.monotonic() + 60
    while requests.get(f"{base}/api/v1/backtests/runs/{rid}",
                       timeout=10).json()["data"]["state"] == "running":
        assert time.monotonic() < deadline
        time.sleep(0.3)
    return rid


def test_wide_screen_shows_past_runs_report_and_comparison(page: Any, suite: Suite) -> None:
    runs = requests.get(suite.url("dashboard") + "/api/v1/backtests/runs", timeout=10).json()["data"]
    done = [r["id"] for r in runs if r["state"] == "done"]
    while len(done) < 2:  # run alone: make the two runs the first test makes
        done.append(_api_run(suite, 10 - 5 * len(done), 20 + 10 * len(done)))
    _open(page, 1920, 1080)
    page.wait_for_selector("#bt-runs tbody tr")
    assert len(done) >= 2, runs
    page.click(f"#bt-runs tr[data-run='{done[0]}'] a")
    page.wait_for_selector("[data-testid=bt-state]:text('done')")
    assert page.get_attribute("#bt-report", "src") == f"/backtests/runs/{done[0]}/report.html"
    heading = page.frame_locator("[data-testid=bt-report]").locator("h1")
    heading.wait_for()
    assert "Replay GOOG" in heading.inner_text()
    page.wait_for_timeout(300)
    screenshot(page, "backtests-report-1920")
    for rid in done[:2]:
        _tick(page, rid)
    page.click("[data-testid=bt-compare]")
    page.wait_for_selector("#bt-cmp-chart canvas")
    page.evaluate("scrollTo(0, 0)")
    page.wait_for_timeout(300)
    screenshot(page, "backtests-1920")
    gone = page.locator(f"#bt-runs tr[data-run='{done[-1]}'] button", has_text="Delete")
    gone.scroll_into_view_if_needed()
    page.wait_for_timeout(150)
    gone.click()
    page.wait_for_selector(f"#bt-runs tr[data-run='{done[-1]}']", state="detached")
    r = requests.get(f"{suite.url('dashboard')}/api/v1/backtests/runs/{done[-1]}", timeout=10)
    assert r.status_code == 404
    assert page.console_errors == []


def test_bad_parameters_and_data_are_answered_in_words(page: Any, suite: Suite) -> None:
    _open(page, 1366, 768)
    page.select_option("#bt-strategy", "builtin:sma_cross")
    page.fill("[data-param=fast]", "50")
    page.fill("[data-param=slow]", "20")
    page.click("[data-testid=bt-run]")
    err = page.wait_for_selector("#err-strategy:not(:empty)")
    assert "fast must be below slow" in err.inner_text().lower()
    page.fill("[data-param=fast]", "ten")
    page.click("[data-testid=bt-run]")
    until(page, "() => /whole number/.test(document.querySelector('#err-strategy').textContent)", timeout=30.0)
    # an uploaded file with a time twice: the loader's words, and the option that fixes it
    page.select_option("#bt-data", "upload:")
    csv = ("Date,Open,High,Low,Close,Volume\n2024-01-02,10,11,9,10.5,100\n"
           "2024-01-02,10,11,9,10.5,100\n2024-01-03,10,11,9,10.6,100\n")
    page.set_input_files("#bt-file", files=[{"name": "dup.csv", "mimeType": "text/csv",
                                             "buffer": csv.encode()}])
    err = page.wait_for_selector("[data-testid=bt-data-error]:not(:empty)")
    assert "appear more than once" in err.inner_text() and "/" not in err.inner_text()
    assert page.eval_on_selector("#bt-dedupe", "e => e.closest('label').classList.contains('bt-suggest')")
    screenshot(page, "backtests-errors-1366")
    # the refusals (400) are the answers the page shows; nothing else failed
    assert page.console_errors and [e for e in page.console_errors
                                    if not re.search(r"\b400\b", e)] == []


def test_the_report_allows_no_network_and_paths_stay_inside(suite: Suite) -> None:
    base = suite.url("dashboard")
    rid = _api_run(suite, 10, 20)
    r = requests.get(f"{base}/backtests/runs/{rid}/report.html", timeout=10)
    assert r.status_code == 200 and "<html" in r.text.lower()
    csp = r.headers["Content-Security-Policy"]
    assert "default-src 'none'" in csp and "frame-ancestors 'self'" in csp
    assert "script-src" not in csp and "connect-src" not in csp
    assert r.headers["X-Frame-Options"] == "SAMEORIGIN"
    for bad in ("..%2F..%2Ftrading.db", "20240101T000000000-abcdef", "x" * 30):
        r = requests.get(f"{base}/backtests/runs/{bad}/report.html", timeout=10)
        assert r.status_code in (400, 404) and r.json()["error"]["message"], bad
    r = requests.post(base + "/api/v1/backtests/runs", timeout=10, json={
        "strategy": "docs:../../hybrid_manager.py:X", "data": {"kind": "upload",
                                                              "name": "../trading.db"}})
    assert r.status_code == 400 and r.json()["error"]["details"]["field"] == "strategy"
