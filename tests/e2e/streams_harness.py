"""Paper trading and the stream server as real processes, and many websocket clients in one
subprocess: shared by tests/e2e/test_streams.py and bench/streams_bench.py."""
from __future__ import annotations

import asyncio
import json
import multiprocessing as mp
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from shared.config import Settings

OPEN = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)  # an XNYS session's open


def prepare_db(tmp: Path) -> Settings:
    """Migrate ``tmp/trading.db``, seed a session of AAPL minute bars and put the market clock
    (step pace) at the open's first close; return settings pointing there."""
    from shared.db import Database, migrate
    from shared.market import ClockController
    from tests.conftest import make_settings
    from tests.services.paper_trading.helpers import seed_bars

    settings = make_settings(tmp)
    db = Database.from_settings(settings)
    migrate(db)
    seed_bars(db, "AAPL", OPEN, [(100 + i % 7, 101 + i % 7, 99 + i % 7, 100.5 + i % 7)
                                 for i in range(390)])
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="step", replay_start="2024-01-02", replay_end="2024-01-03")
    ctl.advance(OPEN + timedelta(minutes=1))
    db.close()
    return settings


def set_clock(settings: Settings, minute: int) -> None:
    """Move the market clock to ``minute`` minutes after the open."""
    from shared.db import Database
    from shared.market import ClockController

    db = Database.from_settings(settings)
    try:
        ClockController(db, settings.market.clock).advance(OPEN + timedelta(minutes=minute))
    finally:
        db.close()


# -- many clients in one process ---------------------------------------------------------------
async def _client(url: str, key: str, counts: list[int], i: int, stop: asyncio.Event,
                  ready: list[int]) -> None:
    from websockets.asyncio.client import connect

    async with connect(url, max_queue=None, compression=None, open_timeout=60,
                       ping_interval=None) as ws:
        await ws.send(json.dumps({"action": "authenticate",
                                  "data": {"key_id": key, "secret_key": "s"}}))
        await ws.recv()
        await ws.send(json.dumps({"action": "listen", "data": {"streams": ["trade_updates"]}}))
        await ws.recv()
        ready[0] += 1
        while not stop.is_set():
            try:
                await asyncio.wait_for(ws.recv(), 0.5)
                counts[i] += 1
            except TimeoutError:
                pass


def _clients_main(url: str, n: int, key: str, conn: Any) -> None:
    from services.paper_trading.streaming.server import raise_fd_limit

    raise_fd_limit()

    async def main() -> None:
        stop = asyncio.Event()
        counts = [0] * n
        ready = [0]
        tasks = []
        for i in range(n):  # in waves: a burst of 1,000 handshakes at once overflows backlogs
            tasks.append(asyncio.create_task(_client(url, key, counts, i, stop, ready)))
            if i % 100 == 99:
                await asyncio.sleep(0.05)
        while ready[0] < n:
            await asyncio.sleep(0.05)
            if any(t.done() and t.exception() for t in tasks):
                conn.send(("error", repr(next(t.exception() for t in tasks
                                              if t.done() and t.exception()))))
                return
        conn.send(("ready", n))
        loop = asyncio.get_running_loop()
        want, wait_s = await loop.run_in_executor(None, conn.recv)
        deadline = loop.time() + wait_s
        while min(counts) < want and loop.time() < deadline:  # the rest still in flight
            await asyncio.sleep(0.05)
        stop.set()
        await asyncio.gather(*tasks, return_exceptions=True)
        conn.send(("counts", counts))

    asyncio.run(main())


class ClientSwarm:
    """``n`` trading-stream clients of key id ``key`` in a subprocess, all listening."""

    def __init__(self, url: str, n: int, key: str) -> None:
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_clients_main, args=(url, n, key, child), daemon=True)
        self.n = n

    def start(self, timeout: float = 120) -> None:
        """Raises:
            RuntimeError: the clients did not all connect in time.
        """
        self.proc.start()
        if not self.conn.poll(timeout):
            raise RuntimeError("the clients did not connect in time")
        kind, value = self.conn.recv()
        if kind != "ready":
            raise RuntimeError(f"clients failed: {value}")

    def stop(self, want: int = 0, wait_s: float = 30.0) -> list[int]:
        """Stop once every client has received ``want`` messages (or after ``wait_s``);
        return each client's received-message count."""
        counts: list[int] = []
        if self.proc.is_alive():
            self.conn.send((want, wait_s))
            if self.conn.poll(wait_s + 30):
                kind, value = self.conn.recv()
                counts = value if kind == "counts" else []
        self.proc.join(10)
        if self.proc.is_alive():
            self.proc.kill()
        return counts

