"""Plain words where a person reads: API errors as the field in words and what to type, the
log viewer's readable lines and level filter, and the System page's ten processes in port order
with the pids ``hybrid_manager.py status`` reports, against the whole suite started by the
real manager (temp database, temp logs, a free port block)."""
from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import psutil
import pytest

from shared.config import ROOT, SERVICE_NAMES
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import until
from tests.manager.conftest import free_port_block, port_env, suite_pids

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]
MANAGER = str(ROOT / "hybrid_manager.py")
VIEWPORTS = [(1366, 768), (1920, 1080)]


class Managed:
    """The suite as ``hybrid_manager.py start --detach`` runs it (no API key: reads and
    actions need no login)."""

    def __init__(self, tmp: Path) -> None:
        self.ports = dict(zip(SERVICE_NAMES, free_port_block(start=16500, stop=17400),
                              strict=True))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING__")
               and not k.endswith("_PORT") and k not in ("API_KEY", "TRADING_CONFIG")}
        env.update(port_env(list(self.ports.values())), DATABASE_PATH=str(tmp / "suite.db"),
                   LOG_DIR=str(tmp / "logs"), TRADING_ENV="test")
        self.env = env
        self.log_dir = tmp / "logs"
        self.state_file = tmp / "run" / "suite" / "state.json"
        self.seen: set[int] = set()

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, MANAGER, *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    def status(self) -> dict[str, Any]:
        res = self.cli("status", "--json", timeout=60)
        assert res.returncode == 0, res.stderr[-2000:]
        return json.loads(res.stdout)

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}"

    def stop(self) -> None:
        self.seen |= suite_pids(self.state_file)
        try:
            self.cli("stop", timeout=90)
        finally:
            for pid in self.seen:  # never leak a process, whatever failed
                try:
                    if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                        os.kill(pid, signal.SIGKILL)
                except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
                    pass


@pytest.fixture(scope="module")
def managed(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Managed]:
    m = Managed(tmp_path_factory.mktemp("plain-words"))
    try:
        res = m.cli("start", "--detach")
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        m.seen |= suite_pids(m.state_file)
        yield m
    finally:
        m.stop()


@pytest.fixture
def page(browser: Any, managed: Managed) -> Iterator[Any]:
    ctx = browser.new_context(viewport={"width": 1366, "height": 768},
                              base_url=managed.url("dashboard"))
    pg = ctx.new_page()
    pg.console_errors = []  # type: ignore[attr-defined]
    pg.on("console", lambda m: m.type == "error" and pg.console_errors.append(m.text))
    pg.on("pageerror", lambda e: pg.console_errors.append(f"pageerror: {e}"))
    yield pg
    ctx.close()


def _system_rows(page: Any) -> list[dict[str, str]]:
    return page.eval_on_selector_all("#services tbody tr", """rows => rows.map(r => {
        const c = [...r.children].map(td => td.innerText.trim());
        return {name: c[0], port: c[1], state: c[2], pid: c[3], workers: c[4]}; })""")


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_system_page_lists_every_process_in_port_order_with_the_managers_pids(
        page: Any, managed: Managed, width: int, height: int) -> None:
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/system")
    until(page, "n => document.querySelectorAll('#services tbody tr [data-pid]')"
                           ".length === n", arg=len(SERVICE_NAMES), timeout=20.0)
    status = {s["name"]: s for s in managed.status()["services"]}
    rows = _system_rows(page)
    assert [r["name"] for r in rows] == sorted(SERVICE_NAMES, key=lambda n: managed.ports[n])
    assert [int(r["port"]) for r in rows] == sorted(managed.ports.values())
    for r in rows:
        master = status[r["name"]]["pid"]
        assert master and r["pid"] == str(master), (r, status[r["name"]])
        workers = sorted(c.pid for c in psutil.Process(master).children(recursive=True))
        shown = [] if r["workers"].startswith("none") else [
            int(x) for x in r["workers"].split(",")]
        assert shown == workers, (r["name"], shown, workers)
        assert r["state"] == "running"
    # gunicorn's services answer from a worker: the pid /health gives is one of the workers
    assert all(int(x) for x in rows[0]["workers"].split(","))
    assert page.console_errors == []
    screenshot(page, f"system-{width}")


def _append(managed: Managed, service: str, records: list[dict[str, Any]]) -> None:
    with open(managed.log_dir / f"{service}.log", "a", encoding="utf-8") as fh:
        for r in records:
            fh.write(json.dumps({"service": service, "pid": 1, **r}) + "\n")


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_log_viewer_shows_readable_lines_filtered_by_level(
        page: Any, managed: Managed, width: int, height: int) -> None:
    _append(managed, "news", [
        {"ts": "2024-03-04T14:30:01.000+00:00", "level": "WARNING", "logger": "database_operations",
         "msg": "slow query", "sql": "execute", "ms": 185.3},
        {"ts": "2024-03-04T14:30:02.000+00:00", "level": "ERROR", "logger": "news",
         "msg": f"feed refresh failed w{width}", "error": "timeout after 5 s"},
    ])
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/system")
    page.wait_for_selector("#log-service option[value=news]", state="attached")
    page.select_option("#log-service", "news")
    page.wait_for_selector(f"#log .logline:has-text('feed refresh failed w{width}')")
    text = page.inner_text("#log")
    assert "{" not in text, text[:500]  # no raw JSON
    assert "app created" in text  # the service's own start line, at INFO
    assert "slow query" not in text  # a timing note: debug
    line = page.locator(f"#log .logline:has-text('feed refresh failed w{width}')")
    assert line.get_attribute("data-level") == "ERROR"
    assert "news" in line.inner_text() and "timeout after 5 s" in line.inner_text()
    page.select_option("#log-level", "ERROR")
    until(page, "() => [...document.querySelectorAll('#log .logline')].every("
                           "l => l.dataset.level === 'ERROR')", timeout=30.0)
    assert "app created" not in page.inner_text("#log")
    page.select_option("#log-level", "DEBUG")
    page.wait_for_selector("#log .logline[data-level=DEBUG]:has-text('slow query')")
    assert page.console_errors == []
    screenshot(page, f"system-log-{width}")


ERRORS = [  # (method, path, body, the sentence a person reads)
    ("POST", "/api/v1/automation", {"state": "go"},
     "State must be one of: running, paused, stopped."),
    ("POST", "/api/v1/cycle", {"advance_steps": "many"},
     "Advance steps must be a whole number: type digits only, like 10."),
    ("POST", "/api/v1/cycle", {"advance_steps": 99999},
     "Advance steps must be less than or equal to 10000."),
    ("POST", "/api/v1/cycle", {"advance_steps": 1, "bogus": 1},
     "Bogus is not something this form takes: leave it out."),
    # coordination's own words, kept as they are (they start with the field)
    ("POST", "/api/v1/clock/configure", {"speed": 0},
     "Speed must be a number greater than 0 and at most 1,000,000 (e.g. 60 for a minute a "
     "second); you typed 0."),
    ("POST", "/api/v1/upstream/paper_trading/orders", {"side": "buy", "qty": "1",
                                                       "type": "market"},
     "Symbol is required: fill it in."),
    ("POST", "/api/v1/upstream/paper_trading/orders", {"symbol": "AAPL", "side": "buy",
                                                       "qty": "lots", "type": "market"},
     "Quantity must be a number: type digits, like 2 or 1.5."),
]


def test_api_errors_read_as_the_field_in_words_and_what_to_type(page: Any,
                                                                 managed: Managed) -> None:
    page.goto("/system")
    page.wait_for_selector("#services tbody tr")
    got = page.evaluate("""async (cases) => {
        const core = await import("/static/js/core.js");
        const out = [];
        for (const [method, path, body] of cases) {
          try { await core.api(path, { method, body }); out.push(null); }
          catch (err) { out.push({ message: err.message, raw: err.raw, status: err.status }); }
        }
        return out; }""", [[m, p, b] for m, p, b, _ in ERRORS])
    for (_, path, _, sentence), res in zip(ERRORS, got, strict=True):
        assert res is not None and 400 <= res["status"] < 500, (path, res)
        assert res["message"] == sentence, (path, res)
        assert "Input should" not in res["message"] and "body field" not in res["message"]
    assert any("Input should" in r["raw"] for r in got)  # pydantic's words, kept for logs


@pytest.mark.parametrize("width,height", VIEWPORTS)
def test_a_bad_field_shows_words_on_the_page(page: Any, managed: Managed, width: int,
                                             height: int) -> None:
    """The log viewer with a level the API does not know: the page says which field and
    what to pick, not pydantic's text."""
    page.set_viewport_size({"width": width, "height": height})
    page.goto("/system")
    page.wait_for_selector("#log-service option", state="attached")
    page.evaluate("""() => { const s = document.querySelector('#log-level');
        s.append(new Option('loud', 'LOUD')); s.value = 'LOUD';
        s.dispatchEvent(new Event('change')); }""")
    page.wait_for_selector("#log .notice")
    assert page.inner_text("#log .notice") == (
        "Level must be one of: DEBUG, INFO, WARNING, ERROR, CRITICAL.")
    screenshot(page, f"system-error-{width}")
    # the page's own console stays clean apart from the 400 it asked for
    assert [e for e in page.console_errors if "400" not in e] == []


# -- the pure parts, without a suite ------------------------------------------------------------
def test_log_lines_parse_into_time_service_level_message() -> None:
    from dashboard.logview import parse_line, readable

    line = json.dumps({"ts": "2024-03-04T14:30:00+00:00", "level": "WARNING", "service": "news",
                       "logger": "news", "msg": "feed late", "pid": 7, "feed": "rss",
                       "lag_s": 12.5})
    assert parse_line(line, "x") == {
        "time": "2024-03-04T14:30:00+00:00", "service": "news", "level": "WARNING",
        "logger": "news", "message": "feed late", "details": "feed: rss · lag s: 12.5"}
    slow = json.dumps({"level": "WARNING", "logger": "database_operations", "msg": "slow query",
                       "ms": 150})
    assert parse_line(slow, "news")["level"] == "DEBUG"
    text = parse_line("Traceback (most recent call last):", "news")
    assert text["level"] == "INFO" and text["message"].startswith("Traceback")
    lines = [slow, line, json.dumps({"level": "ERROR", "msg": "boom"}), "", "plain"]
    assert [e["message"] for e in readable(lines, "news")] == ["feed late", "boom", "plain"]
    assert [e["message"] for e in readable(lines, "news", "ERROR")] == ["boom"]
    assert [e["message"] for e in readable(lines, "news", "DEBUG", limit=2)] == ["boom", "plain"]
    long = parse_line(json.dumps({"msg": "m", "blob": "x" * 500}), "news")
    assert len(long["details"]) == 200 and long["details"].endswith("…")


def test_worker_pids_are_the_children_of_the_master() -> None:
    from dashboard.processes import worker_pids

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in worker_pids(os.getpid())
        assert worker_pids(None) == [] and worker_pids(child.pid) == []
    finally:
        child.kill()
        child.wait()
    assert child.pid not in worker_pids(os.getpid())


def test_without_a_manager_there_is_no_master_pid(tmp_path: Path) -> None:
    from dashboard.processes import manager_view
    from tests.conftest import make_settings

    assert manager_view(make_settings(tmp_path)) == {"manager_pid": None, "services": {}}
