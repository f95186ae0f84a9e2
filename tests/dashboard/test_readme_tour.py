"""The README's tour of the dashboard: every page opened in headless Chromium at 1366x768 and
1920x1080 on the whole suite as ``hybrid_manager.py start --detach`` runs it (the built-in
simulated market, a temp database, a free port block), after the automation has traded for a
few simulated minutes.  The 1366x768 views are written to ``docs/screenshots/<page>.png`` (the
README shows them, so they stay current: commit them after a change to a page).  The README's
clock and start-over commands are run here too, against this suite."""
from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from shared.config import ROOT, SERVICE_NAMES
from tests.dashboard.conftest import screenshot
from tests.dashboard.harness import until
from tests.manager.conftest import free_port_block, port_env, suite_pids

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900)]
MANAGER = str(ROOT / "hybrid_manager.py")
README = ROOT / "README.md"
SHOTS = ROOT / "docs" / "screenshots"
MAX_PNG_BYTES = 300_000

#: (file name, path, selectors that must show something before the screenshot), in the
#: README's order
TOUR: list[tuple[str, str, tuple[str, ...]]] = [
    ("trading", "/trading", ("#account", "#fills")),
    ("symbol", "/symbol?symbol={symbol}", ("#chart", "#quote")),
    ("scanner", "/scanner", ("#matches",)),
    ("strategy", "/strategy", ("#strategy-fields",)),
    ("news", "/news", ("#feed",)),
    ("performance", "/performance", ("#metrics", "#equity")),
    ("backtests", "/backtests", ("#bt-strategy",)),
    ("market", "/market", ("#clock", "#automation")),
    ("system", "/system", ("#services tbody tr [data-pid]",)),
]
SHOWN = """sels => !document.querySelector('#banner.show') && sels.every(s => {
    const e = document.querySelector(s);
    return e && (e.innerText.trim().length > 0 || e.querySelector('canvas, svg, tr')); })"""


class Managed:
    """The suite as ``hybrid_manager.py start --detach`` runs it, on its own ports."""

    def __init__(self, tmp: Path) -> None:
        self.ports = dict(zip(SERVICE_NAMES, free_port_block(start=18000, stop=18600),
                              strict=True))
        env = {k: v for k, v in os.environ.items() if not k.startswith("TRADING__")
               and not k.endswith("_PORT") and k not in ("API_KEY", "TRADING_CONFIG")}
        self.tmp = tmp
        self.db = tmp / "db" / "trading.db"  # as in the checkout, for the README's rm line
        self.db.parent.mkdir()
        env.update(port_env(list(self.ports.values())), DATABASE_PATH=str(self.db),
                   LOG_DIR=str(tmp / "logs"), TRADING_ENV="test",
                   # the first cycle waits for the stored history: 50 symbols store it in
                   # well under a minute where 500 can take minutes on a busy machine
                   TRADING__market__universe_size="50")
        self.env = env
        self.state_file = tmp / "db" / "run" / "trading" / "state.json"
        self.seen: set[int] = set()

    def cli(self, *args: str, timeout: float = 240) -> subprocess.CompletedProcess[str]:
        return subprocess.run([sys.executable, MANAGER, *args], env=self.env, cwd=ROOT,
                              capture_output=True, text=True, timeout=timeout)

    def url(self, name: str, path: str = "") -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"

    def get(self, name: str, path: str) -> Any:
        r = requests.get(self.url(name, path), timeout=30)
        assert r.status_code == 200, r.text
        return r.json()["data"]

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
    m = Managed(tmp_path_factory.mktemp("readme-tour"))
    try:
        res = m.cli("start", "--detach")
        assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
        assert f"dashboard: http://127.0.0.1:{m.ports['dashboard']}" in res.stdout
        m.seen |= suite_pids(m.state_file)
        # a few simulated minutes of the automation: scans, signals, orders and their fills
        deadline = time.monotonic() + 480  # ~1 min idle; 4.5 min at a load average of 20
        while len(m.get("paper_trading", "/api/v1/fills?limit=10")) < 3:
            assert time.monotonic() < deadline, "the automation filled no 3 orders in 480 s"
            time.sleep(2)
        # held still for the pictures: a paused clock answers once the market is stored up to
        # it, so no page shows the "market data stale" banner of a busy machine
        r = requests.post(m.url("coordination", "/api/v1/clock"), json={"action": "pause"},
                          timeout=300)
        assert r.status_code == 200, r.text
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


def test_the_tour_covers_every_page_and_the_readme_shows_each() -> None:
    from dashboard.pages import PAGES  # the navigation's pages

    assert sorted(path.split("?")[0] for _, path, _ in TOUR) == sorted(p for _, p, _ in PAGES)
    text = README.read_text()
    for name, _, _ in TOUR:
        assert f"](docs/screenshots/{name}.png)" in text, f"README does not show {name}.png"


@pytest.mark.parametrize("width,height", [(1366, 768), (1920, 1080)])
def test_every_page_of_the_tour_renders_without_errors(page: Any, managed: Managed, width: int,
                                                       height: int) -> None:
    traded = managed.get("paper_trading", "/api/v1/fills?limit=1")[0]["symbol"]
    page.set_viewport_size({"width": width, "height": height})
    for name, path, ready in TOUR:
        page.goto(path.format(symbol=traded))
        until(page, SHOWN, arg=list(ready), timeout=30.0)
        page.wait_for_timeout(2500)  # charts draw and the first live updates land
        assert page.console_errors == [], (name, page.console_errors)
        screenshot(page, f"tour-{name}-{width}")
        if width == 1366:
            SHOTS.mkdir(parents=True, exist_ok=True)
            out = SHOTS / f"{name}.png"
            page.screenshot(path=str(out), full_page=False, animations="disabled")
            assert out.stat().st_size < MAX_PNG_BYTES, (out, out.stat().st_size)


def _readme_commands(block: int) -> list[str]:
    """Return the lines of the ``block``-th bash block of the README's start-over section."""
    text = README.read_text()
    section = text[text.index("## Pause, rewind, start over"):]
    section = section[: section.index("\n## ", 5)]
    blocks = re.findall(r"```bash\n(.*?)```", section, re.S)
    return [line for line in blocks[block].splitlines() if line.strip()]


def _bash(line: str, cwd: Path, env: dict[str, str]) -> str:
    res = subprocess.run(["bash", "-c", line], cwd=cwd, env=env, capture_output=True,
                         text=True, timeout=180)
    assert res.returncode == 0, (line, res.stdout[-2000:], res.stderr[-2000:])
    return res.stdout


def test_the_readmes_clock_commands_do_what_it_says(managed: Managed) -> None:
    lines = _readme_commands(0)
    curls = [x for x in lines if x.startswith("curl -s -X POST http://127.0.0.1:5000/")]
    assert len(curls) == 6 and lines[:6] == curls
    assert [x.split("#")[0].strip() for x in lines[6:]] == [
        ".venv/bin/python hybrid_manager.py reset"]
    before = managed.get("coordination", "/api/v1/clock")
    port = managed.ports["coordination"]
    out = [json.loads(_bash(x.replace("127.0.0.1:5000", f"127.0.0.1:{port}"), ROOT, managed.env))
           for x in curls]
    assert all(o["status"] == "success" for o in out), out
    paused, stepped, resumed, auto_paused, auto_running, rewound = (o["data"] for o in out)
    assert paused["paused"] is True
    minutes = (datetime.fromisoformat(stepped["now"])
               - datetime.fromisoformat(paused["now"])).total_seconds() / 60
    # five steps of step_minutes, unless the session's close came first
    assert minutes == 5 * stepped["step_minutes"] or not (
        paused["is_open"] and stepped["is_open"]), (paused["now"], stepped["now"])
    assert resumed["paused"] is False
    assert auto_paused["state"] == "paused" and auto_running["state"] == "running"
    assert rewound["run"] == before["run"] + 1 and rewound["paused"] is False
    assert rewound["replay_start"] <= rewound["now"] < before["now"]  # back to the first day
    assert rewound["now"].startswith("2024-01-02"), rewound
    assert managed.get("paper_trading", "/api/v1/fills?limit=10") == []  # a fresh run's books
    said = _bash(lines[6], ROOT, managed.env)  # the manager's reset: one more run
    assert said.startswith(f"market run {before['run'] + 2} started at 2024-01-02"), said
    archived = managed.get("paper_trading", "/api/v1/market-runs")["archived"]
    assert sorted(a["run"] for a in archived) == [before["run"], before["run"] + 1], archived


def test_the_readmes_start_over_gives_a_fresh_suite(managed: Managed) -> None:
    stop, rm = _readme_commands(1)
    assert stop == ".venv/bin/python hybrid_manager.py stop"
    assert rm.startswith("rm -f db/trading.db")
    managed.seen |= suite_pids(managed.state_file)
    assert "stopped" in _bash(stop, ROOT, managed.env)
    _bash(rm, managed.tmp, managed.env)
    assert sorted(p.name for p in managed.db.parent.iterdir()) == ["run"]  # only the pidfiles
    res = managed.cli("start", "--detach")
    assert res.returncode == 0, res.stdout[-3000:] + res.stderr[-3000:]
    managed.seen |= suite_pids(managed.state_file)
    clock = managed.get("coordination", "/api/v1/clock")
    assert clock["run"] == 1 and clock["now"] < "2024-01-02T16:00", clock
    assert managed.get("paper_trading", "/api/v1/market-runs")["archived"] == []
    assert managed.get("paper_trading", "/api/v1/fills?limit=10") == []
