"""The manager's progress line: the pure formatter with figures, the dashboard URL, the
printer on a terminal and in a log, and ``hybrid_manager.py start`` on free ports printing the
URL and lines whose figures are the services' own (read back from their APIs)."""
from __future__ import annotations

import io
import json
import os
import queue
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

import psutil
import pytest
import requests

from shared.config import ROOT, SERVICE_NAMES
from shared.supervisor.progress import (
    Progress,
    ProgressPrinter,
    dashboard_urls,
    format_line,
    money,
    session_day,
)
from tests.manager.conftest import free_port_block, port_env, suite_pids

NOON = datetime(2024, 3, 5, 17, 0, tzinfo=UTC)        # 12:00 in New York (EST)
SUMMER = datetime(2024, 7, 8, 13, 45, tzinfo=UTC)     # 09:45 EDT


# -- the pure formatter ------------------------------------------------------------------------
def test_line_shows_exchange_time_counts_and_exact_money() -> None:
    p = Progress(now=NOON, market_open=True, simulated=True, cycles=26, orders=12, fills=9,
                 day_pnl=Decimal("123.455"), equity=Decimal("100123.455"))
    assert format_line(p) == ("simulated 2024-03-05 12:00 EST open | 26 cycles, 12 orders, "
                              "9 fills | P&L today +$123.46 | equity $100,123.46")


def test_line_in_summer_time_paused_closed_and_a_loss() -> None:
    p = Progress(now=SUMMER, market_open=False, paused=True, simulated=False, cycles=1,
                 orders=0, fills=1, day_pnl=Decimal("-0.005"), equity=Decimal("99999.995"))
    # half-even: -0.005 is -$0.00 (no sign), 99,999.995 rounds to the even cent 100,000.00
    assert format_line(p) == ("2024-07-08 09:45 EDT closed (paused) | 1 cycle, 0 orders, "
                              "1 fill | P&L today $0.00 | equity $100,000.00")
    p = Progress(now=SUMMER, market_open=True, cycles=3, orders=2, fills=2,
                 day_pnl=Decimal("-1234.5"), equity=Decimal("98765.5"))
    assert format_line(p).endswith("P&L today -$1,234.50 | equity $98,765.50")


def test_money_is_exact_decimal() -> None:
    assert money(Decimal("0.1") + Decimal("0.2")) == "$0.30"
    assert money(Decimal("1.005")) == "$1.00" and money(Decimal("1.015")) == "$1.02"
    assert money(Decimal("1234567.891"), signed=True) == "+$1,234,567.89"
    assert money(Decimal("-7"), signed=True) == "-$7.00"
    assert money(Decimal("0"), signed=True) == "$0.00"


def test_unknown_figures_and_services_not_answering_come_first() -> None:
    assert format_line(Progress()) == "market clock ? | ? cycles, ? orders, ? fills"
    p = Progress(now=NOON, market_open=True, cycles=4, orders=2, fills=1,
                 day_pnl=Decimal("5"), equity=Decimal("100005"), down=("paper_trading",))
    assert format_line(p) == ("paper trading not answering | 2024-03-05 12:00 EST open | "
                              "4 cycles, 2 orders, 1 fill | P&L today +$5.00 | "
                              "equity $100,005.00")
    both = format_line(Progress(down=("coordination", "paper_trading")))
    assert both.startswith("coordination not answering | paper trading not answering | ")


def test_line_is_cut_to_the_terminal_width() -> None:
    p = Progress(now=NOON, market_open=True, cycles=26, orders=12, fills=9,
                 day_pnl=Decimal("1"), equity=Decimal("100001"))
    full = format_line(p)
    cut = format_line(p, width=40)
    assert len(cut) == 40 and cut.endswith("…") and full.startswith(cut[:-1])
    assert format_line(p, width=len(full)) == full


def test_session_day_is_the_exchange_date() -> None:
    late = datetime(2024, 3, 6, 1, 30, tzinfo=UTC)  # 20:30 the evening before in New York
    assert str(session_day(late)) == "2024-03-05"


# -- the dashboard's URL -------------------------------------------------------------------------
def test_dashboard_url_local_and_forwarded() -> None:
    assert dashboard_urls(5010, "127.0.0.1", {}) == ["http://127.0.0.1:5010"]
    assert dashboard_urls(15010, "0.0.0.0", {}) == ["http://127.0.0.1:15010"]
    assert dashboard_urls(5010, "::1", {}) == ["http://[::1]:5010"]
    codespace = {"CODESPACES": "true", "CODESPACE_NAME": "fuzzy-doodle-x7",
                 "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN": "app.github.dev"}
    assert dashboard_urls(5010, "127.0.0.1", codespace) == [
        "http://127.0.0.1:5010", "https://fuzzy-doodle-x7-5010.app.github.dev"]
    gitpod = {"GITPOD_WORKSPACE_URL": "https://amber-owl-1x.ws-eu110.gitpod.io"}
    assert dashboard_urls(5011, "127.0.0.1", gitpod) == [
        "http://127.0.0.1:5011", "https://5011-amber-owl-1x.ws-eu110.gitpod.io"]
    # not in a codespace, or a domain the stream links would not recognise: local only
    assert dashboard_urls(5010, "127.0.0.1", {**codespace, "CODESPACES": "false"}) == [
        "http://127.0.0.1:5010"]
    assert dashboard_urls(5010, "127.0.0.1", {
        **codespace, "GITHUB_CODESPACES_PORT_FORWARDING_DOMAIN": "example.com"}) == [
        "http://127.0.0.1:5010"]


# -- the printer -------------------------------------------------------------------------------
class _Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_printer_redraws_in_place_on_a_terminal_and_messages_go_above() -> None:
    out = _Tty()
    figures = iter([Progress(now=NOON, market_open=True, cycles=1, orders=0, fills=0),
                    Progress(now=NOON, market_open=True, cycles=2, orders=1, fills=0)])
    printer = ProgressPrinter(lambda: next(figures), out)
    assert printer.tty and printer.every_s == 2.0
    printer.tick()
    printer.tick()
    printer.say("scanner exited with code 1; restarting in 0.50s")
    printer.tick()  # the reader failed (StopIteration): nothing drawn, nothing raised
    printer.stop()
    printer.show("after stop")  # a late thread draws nothing
    text = out.getvalue()
    assert text.count("\r\033[K") == 3 and "\n" not in text.split("scanner")[0]
    assert text.endswith("\r\033[Kscanner exited with code 1; restarting in 0.50s\n")
    assert "1 cycle, 0 orders" in text and "2 cycles, 1 order, 0 fills" in text


def test_printer_writes_plain_lines_elsewhere_and_survives_a_failing_reader() -> None:
    out = io.StringIO()
    calls = []

    def read() -> Progress:
        calls.append(1)
        if len(calls) == 2:
            raise RuntimeError("boom")
        return Progress(now=NOON, market_open=True, cycles=len(calls), orders=0, fills=0)

    printer = ProgressPrinter(read, out, every_s=0.05)
    assert not printer.tty
    printer.start()
    deadline = time.monotonic() + 5
    while out.getvalue().count("\n") < 3 and time.monotonic() < deadline:
        time.sleep(0.02)
    printer.stop()
    lines = out.getvalue().splitlines()
    assert len(lines) >= 3 and "\r" not in out.getvalue()
    assert lines[0].endswith("| 1 cycle, 0 orders, 0 fills") and "3 cycles" in lines[1]
    assert ProgressPrinter(read, io.StringIO()).every_s == 30.0


class _ClosedPipe(io.StringIO):
    def write(self, text: str) -> int:
        raise BrokenPipeError("the reader of our stdout went away")


def test_printer_never_raises_on_a_broken_output() -> None:
    printer = ProgressPrinter(lambda: Progress(now=NOON, market_open=True), _ClosedPipe())
    printer.tick()
    printer.tick()  # logged once, skipped each time


def test_start_options_are_checked(capsys: pytest.CaptureFixture[str]) -> None:
    from shared.supervisor.cli import parser

    args = parser().parse_args(["start", "--progress-every", "5", "--no-progress"])
    assert (args.progress_every, args.no_progress) == (5.0, True)
    assert parser().parse_args(["start"]).progress_every is None
    for bad in ("0", "-3", "soon"):
        with pytest.raises(SystemExit):
            parser().parse_args(["start", "--progress-every", bad])
        assert "expected seconds between 0.1 and 86400" in capsys.readouterr().err


# -- hybrid_manager.py start on free ports ---------------------------------------------------------
SUITE = pytest.mark.e2e  # the whole suite through hybrid_manager.py (~50 s for the four tests)
LINE = re.compile(r"^(?:.+ not answering \| )*simulated \d{4}-\d\d-\d\d \d\d:\d\d E[SD]T ")


class Manager:
    """``hybrid_manager.py start --progress-every 1`` with its stdout read line by line."""

    def __init__(self, tmp: Path) -> None:
        self.ports = dict(zip(SERVICE_NAMES, free_port_block(start=17400, stop=18000),
                              strict=True))
        env = {k: v for k, v in os.environ.items()
               if not k.startswith("TRADING__") and not k.endswith("_PORT")}
        env.update(port_env(list(self.ports.values())), DATABASE_PATH=str(tmp / "suite.db"),
                   LOG_DIR=str(tmp / "logs"), TRADING_ENV="test")
        for var in ("API_KEY", "CODESPACES", "GITPOD_WORKSPACE_URL"):
            env.pop(var, None)
        self.state_file = tmp / "run" / "suite" / "state.json"
        self.proc = subprocess.Popen(
            [sys.executable, str(ROOT / "hybrid_manager.py"), "start", "--progress-every", "1"],
            cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
            start_new_session=True)
        self.lines: list[tuple[float, str]] = []
        self.queue: queue.Queue[tuple[float, str]] = queue.Queue()
        self.reader = threading.Thread(target=self._read, daemon=True)
        self.reader.start()

    def _read(self) -> None:
        assert self.proc.stdout is not None
        with self.proc.stdout:
            for raw in self.proc.stdout:
                item = (time.monotonic(), raw.rstrip("\n"))
                self.lines.append(item)
                self.queue.put(item)

    def next_line(self, match: Any, timeout: float, after: float = 0.0) -> str:
        """Return the next line (read after ``after``) for which ``match`` is true."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                at, line = self.queue.get(timeout=0.2)
            except queue.Empty:
                assert self.proc.poll() is None, "manager exited:\n" + self.output()
                continue
            if at >= after and match(line):
                return line
        raise AssertionError(f"no matching line in {timeout}s:\n{self.output()}")

    def output(self) -> str:
        return "\n".join(line for _, line in self.lines[-60:])

    def url(self, name: str, path: str) -> str:
        return f"http://127.0.0.1:{self.ports[name]}{path}"


@pytest.fixture(scope="module")
def manager(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Manager]:
    m = Manager(tmp_path_factory.mktemp("progress-suite"))
    seen: set[int] = set()
    try:
        m.next_line(lambda line: line.startswith("dashboard: "), timeout=180)
        seen |= suite_pids(m.state_file)
        yield m
    finally:
        seen |= suite_pids(m.state_file)
        if m.proc.poll() is None:
            m.proc.send_signal(signal.SIGINT)
            try:
                m.proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                pass
        m.reader.join(timeout=10)
        for pid in seen:  # never leak a process, whatever failed above
            try:
                if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                    os.killpg(pid, signal.SIGKILL)
            except (psutil.NoSuchProcess, ProcessLookupError, PermissionError):
                pass


def _post(url: str, body: dict[str, Any]) -> Any:
    r = requests.post(url, json=body, timeout=120)
    assert r.status_code in (200, 201), r.text
    return r.json()["data"]


def _get(url: str) -> Any:
    r = requests.get(url, timeout=30)
    assert r.status_code == 200, r.text
    return r.json()["data"]


@SUITE
def test_start_prints_the_dashboard_url_then_progress(manager: Manager) -> None:
    url = next(line for _, line in manager.lines if line.startswith("dashboard: "))
    assert url == f"dashboard: http://127.0.0.1:{manager.ports['dashboard']}"
    line = manager.next_line(LINE.match, timeout=20)
    assert re.search(r"\| \d+ cycles?, \d+ orders?, \d+ fills? \| P&L today [+-]?\$[\d,]+\.\d\d"
                     r" \| equity \$[\d,]+\.\d\d$", line), line


@SUITE
def test_progress_figures_are_the_services_own(manager: Manager) -> None:
    m = manager
    # one cycle, one order of ours and its fill, each through the owners' APIs; then the day
    # held still (no automated cycle, the clock paused) so the line can be compared
    assert _post(m.url("coordination", "/api/v1/automation"), {"state": "paused"})
    r = requests.patch(m.url("coordination", "/api/v1/strategy"),  # a short cycle
                       json={"universe_limit": 20, "max_candidates": 5}, timeout=30)
    assert r.status_code == 200, r.text
    _post(m.url("coordination", "/api/v1/cycle"), {})
    _post(m.url("paper_trading", "/api/v1/orders"), {
        "symbol": "AAPL", "qty": "3", "side": "buy", "type": "market", "time_in_force": "day"})
    deadline = time.monotonic() + 30
    while not _get(m.url("paper_trading", "/api/v1/fills?symbol=AAPL")):  # the next bar
        assert time.monotonic() < deadline, "our order did not fill in 30 s"
        time.sleep(0.2)
    _post(m.url("coordination", "/api/v1/clock"), {"action": "pause"})
    # what the line must say, computed here from the same public APIs
    clock = _get(m.url("coordination", "/api/v1/clock"))
    now = datetime.fromisoformat(clock["now"])
    day = session_day(now)
    runs = [r for r in _get(m.url("coordination", "/api/v1/runs?limit=1000"))
            if session_day(datetime.fromisoformat(r["clock_ts"])) == day]
    events = _get(m.url("paper_trading", "/api/v1/events?limit=1000"))
    todays = [e["type"] for e in events
              if session_day(datetime.fromisoformat(e["created_at"])) == day]
    acct = _get(m.url("paper_trading", "/api/v1/account"))
    expected = format_line(Progress(
        now=now, market_open=clock["is_open"], paused=True, simulated=True, cycles=len(runs),
        orders=todays.count("order_submitted"), fills=todays.count("fill"),
        day_pnl=Decimal(acct["equity"]) - Decimal(acct["last_equity"]),
        equity=Decimal(acct["equity"])))
    assert len(runs) >= 1 and todays.count("order_submitted") >= 1 and todays.count("fill") >= 1
    t = time.monotonic()
    line = m.next_line(LINE.match, timeout=20, after=t + 1.5)  # read after our calls ended
    assert line == expected, f"\n{line}\n{expected}"


@SUITE
def test_a_frozen_service_is_named_without_crash_or_spam(manager: Manager) -> None:
    m = manager
    state = json.loads(m.state_file.read_text())
    pid = next(s["pid"] for s in state["services"] if s["name"] == "paper_trading")
    group = [pid, *(c.pid for c in psutil.Process(pid).children(recursive=True))]
    t0 = time.monotonic()
    for p in group:
        os.kill(p, signal.SIGSTOP)
    try:
        down = m.next_line(lambda line: line.startswith("paper trading not answering | "),
                           timeout=15, after=t0)
    finally:
        for p in group:
            os.kill(p, signal.SIGCONT)
    t1 = time.monotonic()
    assert LINE.match(down) and "cycle" in down  # the last known figures are kept
    back = m.next_line(lambda line: bool(LINE.match(line)) and "not answering" not in line,
                       timeout=30, after=t1)
    assert "equity $" in back
    span = [line for at, line in m.lines if t0 <= at <= time.monotonic()]
    assert not any("Traceback" in line for line in span)
    # one line a second at most (each read waits up to its 2 s timeout)
    assert len(span) <= time.monotonic() - t0 + 3, span
    assert m.proc.poll() is None


@SUITE
def test_ctrl_c_stops_the_suite(manager: Manager) -> None:
    m = manager
    pids = suite_pids(m.state_file)
    m.proc.send_signal(signal.SIGINT)
    assert m.proc.wait(timeout=60) == 0
    m.reader.join(timeout=10)  # the last lines
    text = [line for _, line in m.lines]
    stop_at = text.index("stopping every service...")
    assert text[-1] == "stopped" and not any(LINE.match(x) for x in text[stop_at:])
    alive = []
    for pid in pids:
        try:
            if psutil.Process(pid).status() != psutil.STATUS_ZOMBIE:
                alive.append(pid)
        except psutil.NoSuchProcess:
            pass
    assert alive == []
