"""A worker whose memory grows past its warm level is replaced, and nobody notices.

``MemoryGuard`` on its own (a fake clock and readings), then a real news service under
gunicorn (``python -m services.news``) with a limit so small that each worker is replaced
about a second after it warms up: every request sent meanwhile, from eight threads, is
answered; the replacements are logged with their figures and counted in ``/metrics``.
"""
from __future__ import annotations

import json
import re
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from shared.db import Database, migrate
from shared.web.memory_guard import MemoryGuard, private_kib
from tests.conftest import make_settings
from tests.dashboard.harness import Suite


class _Fake:
    def __init__(self) -> None:
        self.now = 0.0
        self.kib: int | None = 50_000
        self.reads = 0

    def clock(self) -> float:
        return self.now

    def read(self) -> int | None:
        self.reads += 1
        return self.kib


def _guard(fake: _Fake, growth_mb: float = 8.0) -> MemoryGuard:
    return MemoryGuard(growth_mb, warmup_s=300.0, check_s=20.0, clock=fake.clock, read=fake.read)


def test_the_level_is_read_once_warm_and_only_growth_past_the_limit_counts() -> None:
    fake = _Fake()
    guard = _guard(fake)
    fake.kib = 10_000
    for fake.now in (0.0, 100.0, 299.0):  # warming up: nothing is read
        assert guard.check() is None
    assert fake.reads == 0 and guard.level_kib is None
    fake.now, fake.kib = 300.0, 60_000
    assert guard.check() is None and guard.level_kib == 60_000  # the level
    fake.now, fake.kib = 330.0, 60_000 + 8 * 1024  # exactly the limit: kept
    assert guard.check() is None
    fake.now, fake.kib = 360.0, 60_000 + 8 * 1024 + 1
    assert guard.check() is None  # over once: maybe a request's passing peak
    fake.now, fake.kib = 390.0, 59_000  # back under: the level is the lowest reading
    assert guard.check() is None and guard.level_kib == 59_000
    fake.now, fake.kib = 420.0, 59_000 + 8 * 1024 + 1
    assert guard.check() is None
    fake.now = 450.0  # over twice in a row
    reason = guard.check()
    assert reason == ("private memory 65.6 MB, 8.0 MB over its 57.6 MB once warm "
                      "(limit +8 MB)")


def test_readings_are_spaced_by_check_s_and_off_means_never() -> None:
    fake = _Fake()
    guard = _guard(fake)
    fake.now = 300.0
    guard.check()
    fake.kib = 10**9
    for fake.now in (301.0, 310.0, 319.9):  # under check_s since the last reading
        assert guard.check() is None
    assert fake.reads == 1
    fake.now = 320.0
    assert guard.check() is None and fake.reads == 2  # over once
    fake.now = 339.0
    assert guard.check() is None and fake.reads == 2
    fake.now = 340.0
    assert guard.check() is not None and fake.reads == 3
    off = _Fake()
    never = MemoryGuard(0, warmup_s=0, check_s=0.001, clock=off.clock, read=off.read)
    assert not never.enabled
    off.kib, off.now = 10**9, 1e6
    assert never.check() is None and off.reads == 0


def test_no_reading_no_decision(tmp_path: Path) -> None:
    fake = _Fake()
    fake.kib = None  # not Linux
    guard = _guard(fake)
    fake.now = 1e6
    assert guard.check() is None and guard.level_kib is None
    assert private_kib(tmp_path / "missing") is None
    rollup = tmp_path / "rollup"
    rollup.write_text("Rss: 900 kB\nPss: 500 kB\nPrivate_Clean: 24 kB\nPrivate_Dirty: 6884 kB\n"
                      "Anonymous: 7000 kB\n")
    assert private_kib(rollup) == 6908
    assert (private_kib() or 1) > 0  # this process, on Linux


def test_defaults_replace_only_request_driven_workers() -> None:
    s = make_settings(Path("/nonexistent"))
    on = {name for name, svc in s.services.items() if svc.recycle_growth_mb > 0}
    assert on == {"scanner", "pattern_analysis", "technical_analysis", "paper_trading",
                  "pattern_recognition", "news", "reporting"}
    assert s.services["scanner"].recycle_growth_mb == 8.0 and s.services["news"].recycle_growth_mb == 4.0
    assert s.supervisor.worker_warmup_s == 300.0


@pytest.fixture
def news(tmp_path: Path) -> Iterator[Suite]:
    db = Database.from_settings(make_settings(tmp_path))
    migrate(db)
    db.close()
    s = Suite(tmp_path, extra_env={"TRADING__SERVICES__NEWS__RECYCLE_GROWTH_MB": "0.01",
                                   "TRADING__SUPERVISOR__WORKER_WARMUP_S": "0.3",
                                   "TRADING__SUPERVISOR__MEMORY_CHECK_S": "0.1",
                                   "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom")})
    try:
        s.start("news")
        yield s
    finally:
        s.stop_all()


def test_a_grown_worker_is_replaced_without_dropping_a_request(news: Suite,
                                                               tmp_path: Path) -> None:
    url = news.url("news")

    def call(i: int) -> tuple[int, int]:
        path = ("/health", "/openapi.json", "/api/v1/news?limit=5")[i % 3]
        r = requests.get(url + path, timeout=15)
        pid = requests.get(url + "/health", timeout=15).json()["data"]["pid"]
        return r.status_code, pid

    results: list[tuple[int, int]] = []
    deadline = time.monotonic() + 30
    with ThreadPoolExecutor(8) as pool:
        while time.monotonic() < deadline and len({pid for _, pid in results}) < 3:
            results += pool.map(call, range(24))
            time.sleep(0.05)
    assert {code for code, _ in results} == {200}, [c for c in results if c[0] != 200]
    pids = {pid for _, pid in results}
    assert len(pids) >= 3, "the worker was not replaced"
    lines = [json.loads(line) for f in (tmp_path / "logs").glob("news*.log")
             for line in f.read_text().splitlines() if "replacing worker" in line]
    assert lines and lines[0]["level"] == "WARNING"
    assert lines[0]["private_mb"] >= lines[0]["level_mb"] > 0
    assert re.search(r"replacing worker \d+ of news: private memory [\d.]+ MB, [\d.]+ MB over "
                     r"its [\d.]+ MB once warm \(limit \+0.01 MB\)", lines[0]["msg"])
    text = requests.get(url + "/metrics", timeout=15).text
    m = re.search(r'^suite_worker_recycles_total\{service="news"\} (\S+)$', text, re.M)
    assert m and float(m.group(1)) >= len(lines) - 1  # the newest may be mid-exit
