"""Pressure beside real services, shared by tests/reliability/test_soak.py and
bench/load_bench.py: idle stream clients, a /health watcher and an order driver.

- ``IdleStreams``: ``ws`` trading-stream listeners (``RawSwarm``: bare asyncio websocket
  clients in one subprocess, on accounts that receive nothing) and ``sse`` SSE subscribers of
  the trade-event feed (raw sockets, held open), on the stream server.
- ``HealthWatch``: a thread that GETs each service's /health every ``every_s`` and keeps
  every answer's status and latency (a timeout or refused connection is status 0).
- ``OrderDriver``: threads that submit orders on ``/v2/orders`` (a key id per account),
  retrying the same client_order_id on a connection error or 503 as a careful client does,
  and keep each client_order_id's final status and order id.

Slow-body clients are ``tests.reliability.slowclients.SlowClients``.
"""
from __future__ import annotations

import socket
import threading
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import requests

from tests.e2e.streams_harness import RawSwarm


class IdleStreams:
    """``ws`` + ``sse`` idle clients on the stream server at ``base`` (http://host:port).

    The websocket clients listen to trade_updates of ``keys`` (key ids, spread round-robin);
    the SSE subscribers follow ``sse_account``'s trade events.  Give accounts no order goes to
    and the clients stay idle: they cost the servers their connections, not fan-out.
    """

    def __init__(self, base: str, ws: int, sse: int, keys: list[str],
                 sse_account: str = "automation") -> None:
        self.base = base
        self.ws = ws
        self.keys = [keys[i % len(keys)] for i in range(ws)]
        self.sse_n = sse
        self.sse_path = f"/api/v1/events/stream?account={sse_account}"
        self.swarm: RawSwarm | None = None
        self.sse: list[socket.socket] = []

    def __enter__(self) -> IdleStreams:
        if self.ws:
            self.swarm = RawSwarm(self.base.replace("http://", "ws://") + "/stream", self.ws,
                                  self.keys)
            self.swarm.start()
        parts = urlsplit(self.base)
        for _ in range(self.sse_n):
            s = socket.create_connection((parts.hostname, parts.port), timeout=10)
            s.sendall(f"GET {self.sse_path} HTTP/1.1\r\nHost: {parts.netloc}\r\n"
                      "Accept: text/event-stream\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                got = s.recv(4096)
                if not got:
                    break
                head += got
            if not head.startswith(b"HTTP/1.1 200"):
                s.close()
                raise RuntimeError(f"SSE subscriber refused: {head[:200]!r}")
            s.setblocking(False)  # held: heartbeats pile up in the kernel buffer, unread
            self.sse.append(s)
        return self

    def __exit__(self, *exc: object) -> None:
        for s in self.sse:
            s.close()
        self.sse = []
        if self.swarm is not None:
            self.swarm.stop(want=0, wait_s=5)
            self.swarm = None

    def sse_open(self) -> int:
        """Return how many SSE subscribers the server has not closed."""
        n = 0
        for s in self.sse:
            try:
                while s.recv(65536):
                    pass
            except BlockingIOError:
                n += 1  # nothing more to read and not closed
            except OSError:
                pass
        return n


@dataclass
class Probe:
    name: str
    status: int
    ms: float
    at: float


class HealthWatch:
    """GET ``urls`` (name -> /health URL) in turn every ``every_s`` on a thread of its own."""

    def __init__(self, urls: dict[str, str], every_s: float = 0.5,
                 timeout_s: float = 5.0) -> None:
        self.urls = urls
        self.every_s = every_s
        self.timeout_s = timeout_s
        self.probes: list[Probe] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="health-watch")

    def _run(self) -> None:
        http = requests.Session()
        while not self._stop.is_set():
            for name, url in self.urls.items():
                t0 = time.perf_counter()
                try:
                    status = http.get(url, timeout=self.timeout_s,
                                      headers={"Connection": "close"}).status_code
                except requests.RequestException:
                    status = 0
                self.probes.append(Probe(name, status, (time.perf_counter() - t0) * 1000,
                                         time.monotonic()))
            self._stop.wait(self.every_s)

    def __enter__(self) -> HealthWatch:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(self.timeout_s * len(self.urls) + 5)

    def failures(self) -> list[Probe]:
        return [p for p in self.probes if p.status != 200]

    def latencies(self, name: str) -> list[float]:
        """Return ``name``'s latencies in seconds (for ``bench.harness.pct``)."""
        return [p.ms / 1000 for p in self.probes if p.name == name]


@dataclass
class Submitted:
    """One client_order_id's outcome: the last status (0: never answered) and order id."""

    body: dict[str, Any]
    key: str
    status: int = 0
    order_id: str | None = None
    ms: float = 0.0  # the answered attempt's latency
    retries: int = 0


@dataclass
class OrderDriver:
    """``threads`` submitters against paper trading at ``base``; ``make(i)`` returns the
    i-th (key id, order body without client_order_id).  ``pace_s``: each thread's pause
    between orders (0: as fast as answers come)."""

    base: str
    make: Callable[[int], tuple[str, dict[str, Any]]]
    threads: int = 4
    pace_s: float = 0.0
    prefix: str = field(default_factory=lambda: uuid.uuid4().hex[:8])
    results: dict[str, Submitted] = field(default_factory=dict)
    _n: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def _next(self) -> tuple[str, Submitted]:
        with self._lock:
            i = self._n
            self._n += 1
        key, body = self.make(i)
        cid = f"{self.prefix}-{i:06d}"
        sub = Submitted({**body, "client_order_id": cid}, key)
        with self._lock:
            self.results[cid] = sub
        return cid, sub

    def submit(self, http: requests.Session, sub: Submitted, attempts: int = 20) -> None:
        """Send ``sub`` until it gets an answer other than 503 (bounded)."""
        headers = {"APCA-API-KEY-ID": sub.key, "APCA-API-SECRET-KEY": "s"}
        for attempt in range(attempts):
            t0 = time.perf_counter()
            try:
                resp = http.post(self.base + "/v2/orders", json=sub.body, headers=headers,
                                 timeout=15)
            except requests.RequestException:
                sub.retries += 1
                time.sleep(min(0.05 * 2 ** attempt, 1.0))
                continue
            sub.ms = (time.perf_counter() - t0) * 1000
            sub.status = resp.status_code
            if resp.status_code == 503:
                sub.retries += 1
                time.sleep(0.2)
                continue
            if resp.status_code < 300:
                sub.order_id = resp.json()["id"]
            return

    def run(self, seconds: float) -> None:
        """Submit from every thread for ``seconds``."""
        end = time.monotonic() + seconds

        def worker() -> None:
            http = requests.Session()
            while time.monotonic() < end:
                _cid, sub = self._next()
                self.submit(http, sub)
                if self.pace_s:
                    time.sleep(self.pace_s)

        pool = [threading.Thread(target=worker, name=f"orders-{i}") for i in range(self.threads)]
        for t in pool:
            t.start()
        for t in pool:
            t.join()
