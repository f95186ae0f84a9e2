"""Hostile clients for the starvation tests and bench/load_bench.py: slow bodies and silence."""
from __future__ import annotations

import socket
import threading


class SlowClients:
    """``slow`` connections that send an order's headers and then one body byte every
    ``every_s`` (slowloris with a body), and ``silent`` ones that connect and send nothing;
    each reconnects when the server closes it, so the pressure never lets up."""

    def __init__(self, port: int, slow: int, silent: int = 0, every_s: float = 0.5,
                 path: str = "/api/v1/orders") -> None:
        self.port = port
        self.head = (f"POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: "
                     "application/json\r\nContent-Length: 100000\r\n\r\n{").encode()
        self.slow: list[socket.socket | None] = [None] * slow
        self.silent: list[socket.socket | None] = [None] * silent
        self.every_s = every_s
        self.answers: list[bytes] = []  # first bytes of what the server said to a slow client
        self.reconnects = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True, name="slow-clients")

    def _connect(self, slow: bool) -> socket.socket | None:
        try:
            s = socket.create_connection(("127.0.0.1", self.port), timeout=2)
            s.setblocking(False)
            if slow:
                s.send(self.head)
            return s
        except OSError:
            return None

    def _pass(self, socks: list[socket.socket | None], slow: bool) -> None:
        for i, s in enumerate(socks):
            if s is not None:
                try:
                    got = s.recv(256)
                    if got:
                        self.answers.append(got[:64])
                    s.close()  # the server answered or closed: start over
                    s = None
                except BlockingIOError:
                    if slow:
                        try:
                            s.send(b" ")
                        except OSError:
                            s.close()
                            s = None
                except OSError:
                    s.close()
                    s = None
            if s is None:
                self.reconnects += 1
                s = self._connect(slow)
            socks[i] = s

    def _run(self) -> None:
        while not self._stop.is_set():
            self._pass(self.slow, True)
            self._pass(self.silent, False)
            self._stop.wait(self.every_s)

    def __enter__(self) -> SlowClients:
        self.slow = [self._connect(True) for _ in self.slow]
        self.silent = [self._connect(False) for _ in self.silent]
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(5)
        for s in self.slow + self.silent:
            if s is not None:
                s.close()

    @property
    def connected(self) -> int:
        return sum(s is not None for s in self.slow + self.silent)
