"""One scrape of ``/metrics`` counts the requests of every gunicorn worker of a service.

A real scanner under gunicorn with three workers (``python -m services.scanner``, as the
manager starts it) on a free port: requests answered by different worker processes (their
pids, from ``/health``) are all in the count of one scrape, whichever worker answers it, and
stay counted after a worker is killed and replaced.
"""
from __future__ import annotations

import os
import re
import signal
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
import requests

from shared.db import Database, migrate
from tests.conftest import make_settings
from tests.dashboard.harness import Suite

WORKERS = 3


@pytest.fixture(scope="module")
def scanner(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Suite, Path]]:
    tmp = tmp_path_factory.mktemp("metrics-workers")
    db = Database.from_settings(make_settings(tmp))
    migrate(db)
    db.close()
    base = tmp / "prom"
    s = Suite(tmp, extra_env={"TRADING__SERVICES__SCANNER__WORKERS": str(WORKERS),
                              "PROMETHEUS_MULTIPROC_DIR": str(base)})
    try:
        s.start("scanner")
        yield s, base / "scanner"
    finally:
        s.stop_all()


def _count(text: str, route: str) -> float:
    """Return the summed ``suite_http_requests_total`` of GET ``route``."""
    total = 0.0
    for m in re.finditer(r'^suite_http_requests_total\{([^}]*)\} (\S+)$', text, re.M):
        labels = dict(re.findall(r'(\w+)="([^"]*)"', m.group(1)))
        if labels.get("route") == route and labels.get("method") == "GET":
            total += float(m.group(2))
    return total


def _health_pids(url: str, n: int) -> list[int]:
    def one(_: int) -> int:
        with requests.Session() as s:  # a new connection each: the kernel picks the worker
            return int(s.get(url + "/health", timeout=10).json()["data"]["pid"])
    with ThreadPoolExecutor(16) as pool:
        return list(pool.map(one, range(n)))


def test_one_scrape_counts_the_requests_of_every_worker(scanner: tuple[Suite, Path]) -> None:
    suite, metrics_dir = scanner
    url = suite.url("scanner")
    base = _count(requests.get(url + "/metrics", timeout=10).text, "/health")  # start's probes
    assert base >= 1
    pids: list[int] = []
    for _ in range(20):  # until at least two workers have answered
        pids += _health_pids(url, 48)
        if len(set(pids)) >= 2:
            break
    assert len(set(pids)) >= 2, "every request landed on one worker"
    assert os.getpid() not in pids
    # each worker wrote its own counters to the service's directory...
    files = {p.name for p in metrics_dir.glob("counter_*.db")}
    assert {f"counter_{pid}.db" for pid in set(pids)} <= files
    # ...and any one scrape, whichever worker answers it, merges them all
    for _ in range(6):
        text = requests.get(url + "/metrics", timeout=10).text
        assert _count(text, "/health") == base + len(pids)
        assert "suite_http_request_seconds_bucket" in text and "suite_db_queries" in text

    # a killed worker's counts outlive it (gunicorn starts another; child_exit marks it dead)
    victim, before = pids[0], set(pids)
    os.kill(victim, signal.SIGKILL)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        answered = _health_pids(url, 16)
        pids += answered
        if set(answered) - before:  # the replacement worker answered
            break
        time.sleep(0.2)
    assert set(pids) - before, "no replacement worker answered"
    text = requests.get(url + "/metrics", timeout=10).text
    assert _count(text, "/health") == base + len(pids)


def test_the_metrics_directory_is_fresh_at_each_start(scanner: tuple[Suite, Path]) -> None:
    suite, metrics_dir = scanner
    suite.stop("scanner")
    assert not metrics_dir.exists()  # removed at exit
    metrics_dir.mkdir(parents=True)  # a crashed run's leftovers
    stale = metrics_dir / "counter_999999.db"
    stale.write_bytes(b"stale counts of another run")
    suite.start("scanner")
    assert not stale.exists()
    text = requests.get(suite.url("scanner") + "/metrics", timeout=10).text
    assert _count(text, "/health") >= 1  # only this run's probes


def test_a_stopping_master_leaves_a_directory_a_newer_start_took_over(tmp_path: Path) -> None:
    from shared.web.metrics import release_multiprocess

    taken = tmp_path / "taken"
    taken.mkdir()
    (taken / "owner.pid").write_text(str(os.getpid() + 1))  # the restart's new master
    release_multiprocess(taken)
    assert taken.exists()
    own = tmp_path / "own"
    own.mkdir()
    (own / "owner.pid").write_text(str(os.getpid()))
    (own / "counter_1.db").write_bytes(b"")
    release_multiprocess(own)
    assert not own.exists()
