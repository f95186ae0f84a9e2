"""A database made read-only for a while: the service says so on /health, then heals by itself
(finding 4 of "Hardening, round two").

The news service runs as in production (its ``__main__``: gunicorn, the buffered worker, four
app threads) on a real SQLite file.  Four clients add stories without pause while the file and
its WAL are made immutable (``chattr +i``: root on ext4 or tmpfs, skipped otherwise) for 6 s,
then restored.  SQLite opens a file it may not write read-only and keeps that state for the
connection's life ("attempt to write a readonly database" forever, even after the file is
writable again), so: every failed write is a clear ``database_unavailable`` error; /health
turns 503 (three failed writes in a row and a failed probe write) while the file is immutable,
which is what makes the manager restart a service; and after the restore the same process
(same pid, no restart) writes again within seconds: the connections that met the error were
reopened.  Before: /health stayed 200 and about 2 of 3 writes kept failing for minutes.
"""
from __future__ import annotations

import subprocess
import threading
import time
import uuid
from collections import Counter

import pytest
import requests

from tests.reliability.live import LiveService

pytestmark = pytest.mark.slow


def _chattr(flag: str, *paths) -> bool:
    res = subprocess.run(["chattr", flag, *map(str, paths)], capture_output=True)
    return res.returncode == 0


def add_story(http: requests.Session, url: str) -> requests.Response:
    return http.post(url + "/api/v1/news", timeout=5, json={
        "headline": f"Story {uuid.uuid4().hex}", "symbols": ["AAPL"], "source": "test"})


def test_read_only_database_turns_health_red_then_heals_without_a_restart(tmp_path):
    svc = LiveService("news", tmp_path)
    files = [svc.db_path, svc.db_path.with_name(svc.db_path.name + "-wal")]
    svc.start()
    try:
        http = requests.Session()
        assert add_story(http, svc.url).status_code == 201
        pid = requests.get(svc.url + "/health", timeout=5).json()["data"]["pid"]
        if not _chattr("+i", *files):
            pytest.skip("chattr +i needs root and a file system that supports it")
        outcomes: Counter = Counter()
        phase = ["immutable"]
        stop = threading.Event()

        def writer() -> None:
            s = requests.Session()
            while not stop.is_set():
                r = add_story(s, svc.url)
                key = (phase[0], r.status_code,
                       None if r.status_code < 300 else r.json()["error"]["code"])
                outcomes[key] += 1
                time.sleep(0.02)

        threads = [threading.Thread(target=writer) for _ in range(4)]
        for t in threads:
            t.start()
        red = None
        try:
            t0 = time.monotonic()
            while time.monotonic() - t0 < 6:
                h = requests.get(svc.url + "/health", timeout=5)
                if h.status_code == 503 and red is None:
                    red = time.monotonic() - t0
                    writes = h.json()["data"]["database"]["writes"]
                time.sleep(0.25)
        finally:
            _chattr("-i", *files)
        phase[0] = "restored"
        t_restored = time.monotonic()
        healed = None
        while time.monotonic() - t_restored < 20 and healed is None:
            time.sleep(0.25)
            streak = [add_story(http, svc.url).status_code for _ in range(20)]
            if all(code == 201 for code in streak):
                healed = time.monotonic() - t_restored
        time.sleep(1)
        stop.set()
        for t in threads:
            t.join(10)
        green = requests.get(svc.url + "/health", timeout=5)
        print(f"\nimmutable 6 s: /health 503 after {red}s ({writes if red else ''}); "
              f"healed {healed}s after the restore; outcomes {dict(outcomes)}")
        bad = {k for k in outcomes if k[1] >= 300 and k[2] != "database_unavailable"}
        assert not bad, bad  # every failure says what it is
        assert outcomes[("immutable", 500, "database_unavailable")] > 0  # the fault was real
        assert red is not None, "/health stayed 200 while every write failed"
        assert healed is not None and healed < 10, f"writes still failing: {dict(outcomes)}"
        assert green.status_code == 200 and green.json()["data"]["pid"] == pid  # no restart
        late = [k for k in outcomes if k[0] == "restored" and k[1] >= 300]
        print(f"failures after the restore (before the reopen): {[outcomes[k] for k in late]}")
    finally:
        _chattr("-i", *files)
        svc.stop()
