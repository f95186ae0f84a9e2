"""The database's disk full, then read-only: a clear error, no corruption, recovery once fixed.

The database lives on a tiny tmpfs mounted for the test (needs root; skipped otherwise).  Paper
trading takes orders through its real app while the disk is filled up, then while the file
system is remounted read-only.  Every answer is a 2xx or the error envelope with code
``database_unavailable``; afterwards writes succeed again and ``PRAGMA integrity_check`` is ok.
"""
from __future__ import annotations

import os
import sqlite3
import subprocess
import uuid
from collections import Counter
from pathlib import Path

import pytest

from tests.reliability.conftest import build_app, reliability_settings

pytestmark = pytest.mark.slow


def _mount(path: Path, *opts: str) -> bool:
    res = subprocess.run(["mount", *opts, str(path)], capture_output=True, text=True)
    return res.returncode == 0


@pytest.fixture
def tiny_disk(tmp_path):
    mnt = tmp_path / "mnt"
    mnt.mkdir()
    if os.geteuid() != 0 or not _mount(mnt, "-t", "tmpfs", "-o", "size=12m", "tmpfs"):
        pytest.skip("mounting a tmpfs needs root")
    try:
        yield mnt
    finally:
        subprocess.run(["umount", "-l", str(mnt)], capture_output=True)


def _order(client, symbol: str = "AAPL"):
    return client.post("/api/v1/orders", json={
        "symbol": symbol, "side": "buy", "qty": "1", "type": "limit", "limit_price": "1.00",
        "time_in_force": "gtc", "client_order_id": uuid.uuid4().hex})


def _fill(path: Path) -> None:
    """Write until the file system is full."""
    with open(path, "wb") as f:
        try:
            while True:
                f.write(b"\0" * 65536)
                f.flush()
        except OSError:
            pass


def _release_files(app) -> None:
    """Close every file the service holds on the database's file system."""
    app.extensions["db"].close()
    gate = getattr(app.extensions["service"], "gate", None)  # paper trading's writer lock file
    if gate is not None and gate._fd is not None:
        os.close(gate._fd)
        gate._fd = None


def _assert_clear(resp, seen: Counter) -> None:
    if resp.status_code < 300:
        seen["ok"] += 1
        return
    err = resp.get_json()["error"]
    seen[f"{resp.status_code} {err['code']}"] += 1
    assert resp.status_code in (500, 503) and err["code"] == "database_unavailable", err
    assert "Traceback" not in err["message"]


def test_disk_full_and_read_only_give_a_clear_error_then_recover(tiny_disk, tmp_path):
    settings = reliability_settings(tmp_path, database__path=str(tiny_disk / "trading.db"),
                                    market__universe_size=25)
    app = build_app("paper_trading", settings)
    # AAPL is in the market (its owner, coordination's feed, records the universe; orders are
    # only taken for listed symbols): one row, as the owner writes it
    conn = sqlite3.connect(tiny_disk / "trading.db")
    with conn:
        conn.execute("INSERT OR IGNORE INTO symbols (symbol, name, sector, asset_class, exchange, "
                     "source, updated_at) VALUES ('AAPL', 'Apple', 'Tech', 'equity', 'NASDAQ', "
                     "'test', '2024-01-01')")
    conn.close()  # no file of ours may stay open: the file system is remounted read-only below
    client = app.test_client()
    assert _order(client).status_code == 201

    # disk full
    filler = tiny_disk / "filler.bin"
    _fill(filler)
    seen: Counter = Counter()
    for _ in range(300):
        resp = _order(client)
        _assert_clear(resp, seen)
        if resp.status_code >= 500:
            break
    print(f"\ndisk full: {dict(seen)}")
    assert seen["ok"] < 300, "the disk never filled up"
    health = client.get("/health")
    assert health.status_code in (200, 503)
    filler.unlink()
    assert _order(client).status_code == 201, "no recovery after freeing the disk"

    # read-only (the kernel refuses to remount while a file is open for writing, so the
    # service's connections are closed first; it reopens them on the next request)
    _release_files(app)
    assert _mount(tiny_disk, "-o", "remount,ro")
    seen = Counter()
    try:
        for _ in range(3):
            _assert_clear(_order(client), seen)
        print(f"read-only: {dict(seen)}")
        assert seen["ok"] == 0
    finally:
        _release_files(app)
        assert _mount(tiny_disk, "-o", "remount,rw")
    assert _order(client).status_code == 201, "no recovery after remounting read-write"

    with sqlite3.connect(tiny_disk / "trading.db") as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
    inv = client.get("/api/v1/invariants").get_json()["data"]
    assert inv["ok"], inv
