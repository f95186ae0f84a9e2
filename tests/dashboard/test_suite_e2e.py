"""The whole suite, started by ``hybrid_manager.py start --detach``, seen through the dashboard
in headless Chromium: real data on every page, clock controls, workflow runs, decisions, and a
SIGKILLed service's banner appearing and clearing live (the manager restarts it, no reload).
"""
from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from shared.config import SERVICES
from tests.dashboard.conftest import ARTIFACTS
from tests.dashboard.harness import until

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(200)]

ROOT = Path(__file__).resolve().parents[2]
#: Offsets of each service's port from the test's base port (17000 and up, when free).
OFFSETS = {name: port - 5000 for name, port, _pkg in SERVICES}
KILLED = "news"


def _port_free(port: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def _base_port() -> int:
    for base in range(17000, 19000, 20):
        if all(_port_free(base + off) for off in OFFSETS.values()):
            return base
    pytest.skip("no free block of ports in 17000-19000")


class Whole:
    """The suite under its manager on a temp database, logs and port block."""

    def __init__(self, tmp: Path) -> None:
        base = _base_port()
        self.ports = {name: base + off for name, off in OFFSETS.items()}
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRADING__") and k not in ("API_KEY", "TRADING_CONFIG")}
        env.update({
            "TRADING_ENV": "test", "PYTHONPATH": str(ROOT),
            "DATABASE_PATH": str(tmp / "trading.db"), "LOG_DIR": str(tmp / "logs"),
            # the test drives the cycles itself
            "TRADING__coordination__autostart": "false",
            "TRADING__dashboard__poll_interval_s": "0.5",
            "TRADING__dashboard__stream_heartbeat_s": "2",
            "TRADING__dashboard__upstream_timeout_s": "1.5",
            "TRADING__http__breaker_reset_s": "2",
            "TRADING__supervisor__health_interval_s": "0.5",
            # a forked restart is back in ~1 s: wait 4 s first, so the page has a down
            # service to show (the banner must appear, then clear without a reload)
            "TRADING__supervisor__backoff_initial_s": "4",
        })
        env.update({f"{n.upper()}_PORT": str(p) for n, p in self.ports.items()})
        self.env = env

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def manager(self, *args: str, timeout: float) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, "hybrid_manager.py", *args], cwd=ROOT,
                              env=self.env, capture_output=True, text=True, timeout=timeout)

    def coord(self, method: str, path: str, **kw: Any) -> Any:
        r = requests.request(method, self.url("coordination") + path, timeout=90, **kw)
        assert r.status_code < 300, r.text
        return r.json()["data"]


@pytest.fixture(scope="module")
def whole(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Whole]:
    tmp = tmp_path_factory.mktemp("whole-suite")
    w = Whole(tmp)
    try:
        t0 = time.monotonic()
        r = w.manager("start", "--detach", timeout=120)
        assert r.returncode == 0, r.stdout[-3000:] + r.stderr[-3000:]
        print(f"suite started in {time.monotonic() - t0:.1f}s")
        yield w
    finally:
        r = w.manager("stop", timeout=60)
        print("stop:", r.stdout[-300:], r.stderr[-300:])


def _new_page(browser: Any, base: str) -> Any:
    # polling predicates are strings: let them run under the pages' strict CSP
    ctx = browser.new_context(viewport={"width": 1366, "height": 768}, base_url=base,
                              bypass_csp=True)
    pg = ctx.new_page()
    pg.errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.errors.append(m.text))
    pg.on("pageerror", lambda e: pg.errors.append(f"pageerror: {e}"))
    pg.on("response", lambda r: r.status >= 400 and pg.errors.append(
        f"HTTP {r.status} {r.request.method} {r.url}"))
    return pg


def _shot(page: Any, name: str) -> None:
    ARTIFACTS.mkdir(exist_ok=True)
    page.evaluate("window.scrollTo(0, 0)")  # a scrolled page shoots its sticky header mid-page
    page.screenshot(path=str(ARTIFACTS / f"e2e-{name}.png"), full_page=True)


def _count(page: Any, selector: str, at_least: int = 1, timeout: float = 15_000) -> int:
    until(page, f"document.querySelectorAll({selector!r}).length >= {at_least}", timeout=(timeout) / 1000)
    return page.locator(selector).count()


def test_whole_suite_through_the_dashboard(whole: Whole, browser: Any) -> None:
    t0 = time.monotonic()
    # the history the analyses read (the market feed backfills it after the start)
    while not whole.coord("GET", "/api/v1/market/feed")["history_ready"]:
        assert time.monotonic() - t0 < 90, "the market's history was not stored in 90 s"
        time.sleep(0.5)
    print(f"history stored at {time.monotonic() - t0:.1f}s")
    # a small universe keeps each cycle to a second or two on a shared machine
    whole.coord("PATCH", "/api/v1/strategy", json={"universe_limit": 30})
    runs = [whole.coord("POST", "/api/v1/cycle", json={"advance_steps": 5}) for _ in range(4)]
    assert all(r["status"] in ("ok", "degraded") for r in runs), runs
    # a scan with a filter, so the scanner page has explained matches
    requests.post(whole.url("scanner") + "/api/v1/scan", timeout=90,
                  json={"filters": {"min_price": 1, "min_rvol": 0, "min_rsi": 0, "min_change_pct": -100},
                        "symbols": runs[0]["summary"]["candidates"]})
    print(f"cycles done at {time.monotonic() - t0:.1f}s")

    page = _new_page(browser, whole.url("dashboard"))
    try:
        _pages_show_real_data(page)
        print(f"pages checked at {time.monotonic() - t0:.1f}s")
        _clock_controls_step_the_clock(page)
        _decisions_open_from_fills_and_journal(page)
        assert page.errors == [], page.errors  # type: ignore[attr-defined]
        _banner_follows_a_killed_service(page, whole)
        print(f"banner cycle done at {time.monotonic() - t0:.1f}s")
    finally:
        page.context.close()


def _goto(page: Any, path: str) -> None:
    page.goto(path)
    page.wait_for_selector("#hdr-clock b", timeout=10_000)


def _pages_show_real_data(page: Any) -> None:
    _goto(page, "/trading")
    assert _count(page, "#fills tr[data-fill-order-id]") >= 1
    page.wait_for_selector("#account dl", timeout=10_000)
    _shot(page, "trading")
    _goto(page, "/symbol?symbol=" + _a_traded_symbol(page))
    until(page, "window.__chartBars > 0", timeout=20.0)
    _count(page, "#signals tbody tr td.num")
    _shot(page, "symbol")
    _goto(page, "/scanner")
    assert _count(page, "#matches tbody tr a[href^='/symbol']") >= 1
    assert "≥" in page.locator("#matches tbody").inner_text()  # why it matched
    _shot(page, "scanner")
    _goto(page, "/news")
    assert _count(page, "#feed tr") >= 1
    _count(page, "#aggregates tbody tr a")
    _shot(page, "news")
    _goto(page, "/performance")
    _count(page, "#metrics dd[data-metric]", 5)
    _count(page, "#journal button.why")
    until(page, "!document.querySelector('#equity-note').textContent.includes('no ')", timeout=10.0)
    _shot(page, "performance")
    _goto(page, "/market")
    assert _count(page, "#workflow .run", 4) >= 4
    assert page.locator("#workflow .run .step").count() >= 4  # per-step timings
    page.wait_for_selector("#automation dl", timeout=10_000)
    _shot(page, "market")
    _goto(page, "/system")
    until(page, "[...document.querySelectorAll('#services .pill.running')].length >= 8", timeout=20.0)
    _count(page, "#timeline .run")
    _shot(page, "system")
    assert page.errors == [], page.errors  # type: ignore[attr-defined]


def _a_traded_symbol(page: Any) -> str:
    return page.locator("#fills tbody tr td").first.inner_text().strip()


def _clock_controls_step_the_clock(page: Any) -> None:
    _goto(page, "/market")
    page.wait_for_selector("#clock-now", timeout=10_000)
    before = page.get_attribute("#clock", "data-now")
    page.fill("#step-n", "3")
    page.click("#clock-step")
    until(page, f"document.querySelector('#clock').dataset.now !== {before!r}", timeout=15.0)
    after = page.get_attribute("#clock", "data-now")
    assert after > before, (before, after)
    # the header clock follows through the live stream
    until(page, f"document.querySelector('#hdr-clock').dataset.now === {after!r}", timeout=10.0)


def _wait_for_decision(page: Any) -> None:
    try:
        page.wait_for_selector("#decision article.decision", timeout=10_000)
    except Exception as exc:  # say what the panel shows instead
        raise AssertionError(f"no decision shown: {page.locator('#decision').inner_text()!r} "
                             f"(first fill row: {page.locator('#fills tbody tr').first.inner_text()!r})"
                             ) from exc


def _decisions_open_from_fills_and_journal(page: Any) -> None:
    _goto(page, "/trading")
    _count(page, "#fills button.why")
    page.locator("#fills button.why").first.click()
    _wait_for_decision(page)
    text = page.locator("#decision").inner_text()
    for part in ("Scan match", "Signals", "Patterns", "Sentiment", "Sizing"):
        assert part.lower() in text.lower(), text
    _shot(page, "trading-decision")
    _goto(page, "/performance")
    _count(page, "#journal button.why")
    page.locator("#journal button.why").first.click()
    _wait_for_decision(page)
    _shot(page, "performance-decision")


def _banner_follows_a_killed_service(page: Any, whole: Whole) -> None:
    _goto(page, "/system")
    page.evaluate("window.__noReload = 1")
    banner = page.locator("#banner")
    until(page, "[...document.querySelectorAll('#services .pill.running')].length >= 8", timeout=20.0)
    pid = whole.coord("GET", f"/api/v1/services/{KILLED}")["pid"]
    os.kill(pid, signal.SIGKILL)
    t0 = time.monotonic()
    page.wait_for_selector(f"#banner.show:has-text('{KILLED}')", timeout=20_000)
    print(f"banner shown {time.monotonic() - t0:.1f}s after SIGKILL")
    _shot(page, "banner-down")
    deadline = time.monotonic() + 60
    while KILLED in (banner.get_attribute("data-down") or ""):
        assert time.monotonic() < deadline, "the banner did not clear after the manager's restart"
        page.wait_for_timeout(250)
    print(f"banner cleared {time.monotonic() - t0:.1f}s after SIGKILL")
    assert page.evaluate("window.__noReload") == 1  # live recovery, no reload
    new_pid = whole.coord("GET", f"/api/v1/services/{KILLED}")["pid"]
    assert new_pid != pid
    # the killed service's proxied reads work again, in the same page
    until(page, "[...document.querySelectorAll('#services .pill.running')].length >= 8", timeout=20.0)
    _shot(page, "banner-cleared")
