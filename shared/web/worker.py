"""``BufferedWorker``: a gunicorn worker that reads each request whole before the app sees it.

Why: a sync worker reads the request itself, so a client that sends its headers and then
trickles the body (or opens a connection and sends nothing) holds one of paper trading's two
workers until gunicorn's 60 s timeout kills it; two such clients stopped /health and every
order.  gthread threads are held the same way by a trickled body.

How: one asyncio loop per worker accepts every connection and reads requests in parallel, each
within ``security.request_read_timeout_s`` from its first byte (408 then, or a silent close
for a connection that sent nothing) and within the header and body limits (431, 413).  Only a
complete request goes to the app, on ``threads`` app threads, or with ``threads: 1`` on the
loop itself between reads (the sync worker's one-request-at-a-time writes: SQLite's write lock
is not fought over by threads, see baselines.md).  ``/health`` and ``/ready`` run on their own thread, so a probe never waits
behind user requests.  The response is built whole in the app thread (gunicorn's own parser,
environ and ``Response`` over the buffered bytes, as the sync worker does) and handed to the
loop, so a slow reader holds only its socket.  At most ``security.max_connections_per_worker``
connections are open; a new one over that evicts the oldest that has not finished sending its
request.  Connections close after each response, like the sync worker's.

The loop keeps telling the master it is alive unless a request has run longer than the
service's ``timeout_s``: then the master kills the worker, as it did a stuck sync worker.
"""
from __future__ import annotations

import asyncio
import json
import os
import socket
import time
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from typing import Any

from gunicorn import http
from gunicorn.http import wsgi
from gunicorn.workers import base

from shared.web.framing import FrameError, request_end

#: requests served on the probe thread (never behind user requests)
PROBE_PATHS = (b"/health", b"/ready")
#: a response a slow reader has not taken after this long is dropped
WRITE_TIMEOUT_S = 30.0


def _is_probe(raw: bytes) -> bool:
    line = raw[:raw.find(b"\r\n")]
    parts = line.split(b" ")
    if len(parts) < 2 or parts[0] != b"GET":
        return False
    path = parts[1].split(b"?", 1)[0]
    return path in PROBE_PATHS


def _error_bytes(status: int, code: str, message: str) -> bytes:
    body = json.dumps({"status": "error", "data": None,
                       "error": {"code": code, "message": message, "details": None}}).encode()
    reason = {400: "Bad Request", 408: "Request Timeout", 413: "Payload Too Large",
              431: "Request Header Fields Too Large", 503: "Service Unavailable"}[status]
    return (f"HTTP/1.1 {status} {reason}\r\nContent-Type: application/json\r\n"
            f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n").encode() + body


class _BufferSocket:
    """The socket gunicorn's parser and ``Response`` see: reads the buffered request,
    collects what is written."""

    def __init__(self, raw: bytes, peer: Any, sockname: Any) -> None:
        self._raw = memoryview(raw)
        self._pos = 0
        self.out: list[bytes] = []
        self._peer = peer
        self._sockname = sockname

    def recv(self, size: int) -> bytes:
        chunk = self._raw[self._pos:self._pos + size].tobytes()
        self._pos += len(chunk)
        return chunk

    def send(self, data: bytes) -> int:
        # the loop answered "Expect: 100-continue" while the body was still arriving
        if bytes(data) != b"HTTP/1.1 100 Continue\r\n\r\n":
            self.out.append(bytes(data))
        return len(data)

    def sendall(self, data: bytes) -> None:
        self.out.append(bytes(data))

    def getpeername(self) -> Any:
        return self._peer

    def getsockname(self) -> Any:
        return self._sockname

    def setblocking(self, flag: bool) -> None:
        pass

    def settimeout(self, value: float | None) -> None:
        pass

    def fileno(self) -> int:
        return -1

    def close(self) -> None:
        pass

    def shutdown(self, how: int) -> None:
        pass


class _Connection(asyncio.Protocol):
    """One client connection: buffer its request, then hand it to the worker."""

    def __init__(self, worker: BufferedWorker) -> None:
        self.worker = worker
        self.buf = bytearray()
        self.transport: asyncio.Transport | None = None
        self.dispatched = False
        self.continued = False
        self.timer: asyncio.TimerHandle | None = None
        self.peer: Any = None
        self.sockname: Any = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        assert isinstance(transport, asyncio.Transport)
        self.transport = transport
        self.peer = transport.get_extra_info("peername")
        self.sockname = transport.get_extra_info("sockname")
        sock = transport.get_extra_info("socket")
        if sock is not None and sock.family in (socket.AF_INET, socket.AF_INET6):
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.timer = self.worker.loop.call_later(self.worker.read_timeout, self._timed_out)
        self.worker.admit(self)

    def data_received(self, data: bytes) -> None:
        if self.dispatched:
            return  # one request per connection; anything after it is ignored
        self.buf += data
        w = self.worker
        try:
            end = request_end(self.buf, w.max_header, w.max_body)
        except FrameError as exc:
            self.fail(exc.status, exc.code, exc.message)
            return
        if end is None:
            if not self.continued and b"100-continue" in self.buf.lower() \
                    and b"\r\n\r\n" in self.buf:
                self.continued = True
                assert self.transport is not None
                self.transport.write(b"HTTP/1.1 100 Continue\r\n\r\n")
            return
        self.dispatched = True
        if self.timer is not None:
            self.timer.cancel()
        assert self.transport is not None
        self.transport.pause_reading()
        w.dispatch(self, bytes(self.buf[:end]))
        self.buf = bytearray()

    def eof_received(self) -> bool:
        return self.dispatched  # keep the socket open for the answer of a complete request

    def connection_lost(self, exc: Exception | None) -> None:
        if self.timer is not None:
            self.timer.cancel()
        self.worker.forget(self)

    def _timed_out(self) -> None:
        if self.dispatched or self.transport is None:
            return
        self.worker.stats["read_timeouts"] += 1
        if self.buf:
            self.fail(408, "request_timeout",
                      f"the request was not received within {self.worker.read_timeout:g}s")
        else:
            self.transport.abort()

    def fail(self, status: int, code: str, message: str) -> None:
        self.dispatched = True
        self.respond(_error_bytes(status, code, message))

    def respond(self, data: bytes) -> None:
        tr = self.transport
        if tr is None or tr.is_closing():
            return
        tr.write(data)
        tr.close()  # after the buffer is flushed
        if tr.get_write_buffer_size():
            self.worker.loop.call_later(WRITE_TIMEOUT_S, tr.abort)

    def evict(self) -> None:
        self.worker.stats["evicted"] += 1
        if self.transport is not None:
            self.transport.abort()


class BufferedWorker(base.Worker):
    """See the module docstring; ``configured`` sets the limits from the settings."""

    read_timeout: float = 10.0
    max_conns: int = 1000
    max_body: int = 1_000_000

    @classmethod
    def configured(cls, read_timeout: float, max_conns: int,
                   max_body: int) -> type[BufferedWorker]:
        """Return a subclass with these limits (gunicorn takes a worker class as is)."""
        return type("BufferedWorker", (cls,), {"read_timeout": read_timeout,
                                               "max_conns": max_conns, "max_body": max_body})

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.max_header = min(65536, self.cfg.limit_request_line
                              + self.cfg.limit_request_fields * self.cfg.limit_request_field_size)
        self.conns: dict[_Connection, None] = {}  # insertion order: the oldest first
        self.inflight: dict[int, float] = {}
        self.stats: dict[str, int] = {"read_timeouts": 0, "evicted": 0, "requests": 0}
        self.loop: asyncio.AbstractEventLoop = None  # type: ignore[assignment]

    # -- connections -----------------------------------------------------------------------
    def admit(self, conn: _Connection) -> None:
        if len(self.conns) >= self.max_conns:
            oldest = next((c for c in self.conns if not c.dispatched), None)
            if oldest is not None:
                self.conns.pop(oldest, None)
                oldest.evict()
        self.conns[conn] = None

    def forget(self, conn: _Connection) -> None:
        self.conns.pop(conn, None)

    def dispatch(self, conn: _Connection, raw: bytes) -> None:
        probe = _is_probe(raw)
        key = id(conn)
        self.inflight[key] = time.monotonic()
        if self.inline and not probe:
            # One app thread: serve on the loop itself.  Handing each request to a one-thread
            # pool and its answer back cost ~250 us of CPU a request (two thread wake-ups and
            # the GIL passed back and forth), a fifth of an order's; requests were one at a
            # time anyway.  Reading stays non-blocking, so a slow client still holds only its
            # socket; a probe waits at most for the request being served (probes go to their
            # own thread either way).
            try:
                data = self.serve(raw, conn.peer, conn.sockname)
            finally:
                self.inflight.pop(key, None)
            conn.respond(data)
            return
        pool = self.probe_pool if probe else self.app_pool
        fut = self.loop.run_in_executor(pool, self.serve, raw, conn.peer, conn.sockname)

        def done(f: asyncio.Future[bytes]) -> None:
            self.inflight.pop(key, None)
            try:
                conn.respond(f.result())
            except Exception:  # serve() never raises; a failure here is ours
                self.log.exception("could not answer a request")
                conn.respond(_error_bytes(503, "service_unavailable", "try again"))

        fut.add_done_callback(done)

    # -- the app (on an app or probe thread) -----------------------------------------------
    def serve(self, raw: bytes, peer: Any, sockname: Any) -> bytes:
        """Run one complete request through gunicorn's parser, environ and the WSGI app."""
        sock = _BufferSocket(raw, peer, sockname)
        req = None
        try:
            parser = http.get_parser(self.cfg, sock, peer)
            req = next(parser)
            self._handle(req, sock, peer, sockname)
        except StopIteration:
            pass
        except BaseException as exc:  # noqa: BLE001 - gunicorn's handle_error decides
            if sock.out:  # headers already went out: nothing sane to add
                self.log.exception("Error handling request")
            else:
                self.handle_error(req, sock, peer, exc)
        return b"".join(sock.out)

    def _handle(self, req: Any, sock: _BufferSocket, peer: Any, sockname: Any) -> None:
        environ: dict[str, Any] = {}
        resp = None
        try:
            self.cfg.pre_request(self, req)
            start = datetime.now()
            resp, environ = wsgi.create(req, sock, peer, sockname, self.cfg)
            resp.force_close()
            self.stats["requests"] += 1
            respiter = self.wsgi(environ, resp.start_response)
            try:
                for item in respiter:
                    resp.write(item)
                resp.close()
            finally:
                self.log.access(resp, req, environ, datetime.now() - start)
                if hasattr(respiter, "close"):
                    respiter.close()
        finally:
            try:
                self.cfg.post_request(self, req, environ, resp)
            except Exception:
                self.log.exception("Exception in post_request hook")

    # -- the loop --------------------------------------------------------------------------
    def run(self) -> None:
        self.loop = asyncio.new_event_loop()
        asyncio.set_event_loop(self.loop)
        self.inline = self.cfg.threads <= 1
        self.app_pool = ThreadPoolExecutor(max(1, self.cfg.threads), thread_name_prefix="app")
        self.probe_pool = ThreadPoolExecutor(1, thread_name_prefix="probe")
        try:
            self.loop.run_until_complete(self._main())
        finally:
            self.app_pool.shutdown(wait=False, cancel_futures=True)
            self.probe_pool.shutdown(wait=False, cancel_futures=True)
            self.loop.close()

    async def _main(self) -> None:
        servers = []
        for s in self.sockets:
            s.setblocking(False)
            servers.append(await self.loop.create_server(
                lambda: _Connection(self), sock=getattr(s, "sock", s),
                backlog=self.cfg.backlog))
        ppid = os.getppid()
        tick = min(1.0, max(0.1, self.timeout / 4))
        while self.alive:
            oldest = min(self.inflight.values(), default=None)
            if oldest is None or time.monotonic() - oldest < self.timeout:
                self.notify()  # a request stuck past the timeout: let the master kill us
            if os.getppid() != ppid:
                self.log.info("Parent changed, shutting down: %s", self)
                break
            await asyncio.sleep(tick)
        for srv in servers:
            srv.close()
        # a connection accepted just before is still being set up (asyncio makes its
        # transport in a task): let those join self.conns, or they would close unanswered
        await asyncio.sleep(0.05)
        # Leaving (SIGTERM, or replaced for its memory): answer every connection already
        # accepted, those still sending their request included, and let the answers flush;
        # new connections wait in the listening socket's backlog for the next worker.
        deadline = time.monotonic() + self.cfg.graceful_timeout
        while (self.inflight or self.conns) and time.monotonic() < deadline:
            self.notify()
            await asyncio.sleep(0.05)
        for conn in list(self.conns):
            if conn.transport is not None and not conn.transport.is_closing():
                conn.transport.abort()
