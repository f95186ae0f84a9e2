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


def prepare_db(tmp: Path, **overrides: Any) -> Settings:
    """Migrate ``tmp/trading.db`` (or the database ``overrides`` name, e.g. ``database__url``),
    seed a session of AAPL minute bars and put the market clock (step pace) at the open's
    first close; return settings pointing there."""
    from shared.db import Database, migrate
    from shared.market import ClockController
    from tests.conftest import make_settings
    from tests.services.paper_trading.helpers import seed_bars

    settings = make_settings(tmp, **overrides)
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



# -- many lightweight clients in one process ---------------------------------------------------
class _RawClient(asyncio.Protocol):
    """A minimal trading-stream client on a bare asyncio protocol: the upgrade, authenticate,
    listen, then only count the frames that arrive (a header parse per frame, no decoding), so
    thousands of them cost the machine little beside the server being measured."""

    def __init__(self, host: str, path: str, key: str, done: asyncio.Future[None]) -> None:
        self.host, self.path, self.key, self.done = host, path, key, done
        self.transport: asyncio.Transport | None = None
        self.buf = bytearray()
        self.stage = 0  # 0 upgrade, 1 authenticate reply, 2 listen reply, 3 listening
        self.rem = -1   # payload bytes left of the current frame (-1: at a header)
        self.frames = 0

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        import base64
        import os

        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(  # type: ignore[attr-defined]
            f"GET {self.path} HTTP/1.1\r\nHost: {self.host}\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            f"Sec-WebSocket-Version: 13\r\n\r\n".encode())

    def _send(self, obj: Any) -> None:
        import struct

        payload = json.dumps(obj).encode()  # masked with a zero key: the payload as is
        n = len(payload)
        head = bytes((0x81, 0x80 | n)) if n < 126 else struct.pack("!BBH", 0x81, 0xFE, n)
        assert self.transport is not None
        self.transport.write(head + b"\0\0\0\0" + payload)

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if self.stage == 0:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                self._fail(bytes(buf[:200]).decode(errors="replace"))
                return
            del buf[:end + 4]
            self.stage = 1
            self._send({"action": "authenticate",
                        "data": {"key_id": self.key, "secret_key": "s"}})
        pos, size = 0, len(buf)
        while True:
            if self.rem >= 0:
                take = min(self.rem, size - pos)
                pos += take
                self.rem -= take
                if self.rem:
                    break
                self.rem = -1
                self._frame()
            if size - pos < 2:
                break
            b1 = buf[pos + 1] & 0x7F
            hl = 2 if b1 < 126 else 4 if b1 == 126 else 10
            if size - pos < hl:
                break
            self.rem = b1 if b1 < 126 else int.from_bytes(buf[pos + 2:pos + hl], "big")
            pos += hl
        del buf[:pos]

    def _frame(self) -> None:
        if self.stage == 3:
            self.frames += 1
        elif self.stage == 1:
            self.stage = 2
            self._send({"action": "listen", "data": {"streams": ["trade_updates"]}})
        elif self.stage == 2:
            self.stage = 3
            if not self.done.done():
                self.done.set_result(None)

    def _fail(self, why: str) -> None:
        if not self.done.done():
            self.done.set_exception(RuntimeError(f"upgrade failed: {why}"))

    def connection_lost(self, exc: Exception | None) -> None:
        self._fail(f"connection lost: {exc!r}")


def _raw_main(url: str, keys: list[str], conn: Any) -> None:
    from urllib.parse import urlsplit

    from services.paper_trading.streaming.server import raise_fd_limit

    raise_fd_limit()
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80

    async def main() -> None:
        loop = asyncio.get_running_loop()
        clients: list[_RawClient] = []
        waits = []
        for i, key in enumerate(keys):  # in waves, as ClientSwarm
            done: asyncio.Future[None] = loop.create_future()
            c = _RawClient(f"{host}:{port}", parts.path, key, done)
            await loop.create_connection(lambda c=c: c, host, port)
            clients.append(c)
            waits.append(done)
            if i % 100 == 99:
                await asyncio.sleep(0.05)
        try:
            await asyncio.wait_for(asyncio.gather(*waits), 120)
        except Exception as exc:  # noqa: BLE001 - reported to the parent
            conn.send(("error", repr(exc)))
            return
        conn.send(("ready", len(clients)))
        want, wait_s = await loop.run_in_executor(None, conn.recv)
        deadline = loop.time() + wait_s
        while min((c.frames for c in clients), default=want) < want and loop.time() < deadline:
            await asyncio.sleep(0.05)
        for c in clients:
            if c.transport is not None:
                c.transport.close()
        conn.send(("counts", [c.frames for c in clients]))

    asyncio.run(main())


class RawSwarm(ClientSwarm):
    """Like ``ClientSwarm`` (same start/stop), with ``_RawClient``s: ``keys`` names each
    client's key id (a string: all ``n`` of one account)."""

    def __init__(self, url: str, n: int, keys: str | list[str]) -> None:  # noqa: D107
        keys = [keys] * n if isinstance(keys, str) else list(keys)
        ctx = mp.get_context("spawn")
        self.conn, child = ctx.Pipe()
        self.proc = ctx.Process(target=_raw_main, args=(url, keys, child), daemon=True)
        self.n = len(keys)
