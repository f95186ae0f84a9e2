"""``Replicas``: every address a service's host name resolves to, taken in turn.

Under ``docker compose up --scale technical-analysis=3`` the service name resolves (compose's
DNS) to one address per replica; a plain client would send every call to whichever address
the resolver lists first.  A caller that splits a batch asks ``take(n)`` for the base URLs of
its ``n`` parts and sends each part to its own replica, round-robin across calls.  The name
is resolved again after ``ttl_s``, so replicas that start or stop are followed.  A host that
resolves to one address (an IP, ``127.0.0.1`` outside compose) gives the one URL it had.
"""
from __future__ import annotations

import logging
import socket
import threading
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

log = logging.getLogger("http_client")
Resolver = Callable[..., list[tuple[Any, ...]]]


class Replicas:
    """The replicas of one service at ``base_url`` (``http://host:port``)."""

    def __init__(self, base_url: str, *, ttl_s: float = 5.0,
                 resolve: Resolver = socket.getaddrinfo,
                 clock: Callable[[], float] = time.monotonic) -> None:
        parts = urlsplit(base_url)
        if not parts.hostname or not parts.port:
            raise ValueError(f"base_url was {base_url!r}: give http://host:port")
        self.base_url = base_url.rstrip("/")
        self.scheme, self.host, self.port = parts.scheme, parts.hostname, parts.port
        self.ttl_s = ttl_s
        self._resolve = resolve
        self._clock = clock
        self._lock = threading.Lock()
        self._urls: list[str] = [self.base_url]
        self._expires = float("-inf")
        self._cursor = 0

    def _lookup(self) -> list[str]:
        infos = self._resolve(self.host, self.port, type=socket.SOCK_STREAM)
        # IPv4 when there is any: "localhost" is 127.0.0.1 and ::1, one machine (whose
        # services bind 127.0.0.1), not two replicas; compose's DNS answers IPv4
        v4 = [i for i in infos if i[0] == socket.AF_INET]
        urls: list[str] = []
        for family, *_rest, sockaddr in v4 or infos:
            ip = sockaddr[0]
            url = f"{self.scheme}://[{ip}]:{self.port}" if family == socket.AF_INET6 \
                else f"{self.scheme}://{ip}:{self.port}"
            if url not in urls:
                urls.append(url)
        return urls

    def urls(self) -> list[str]:
        """Return one base URL per replica (resolved at most every ``ttl_s``); the last
        known list, or the configured URL, when the name does not resolve."""
        with self._lock:
            now = self._clock()
            if now < self._expires:
                return list(self._urls)
            try:
                found = self._lookup()
            except OSError as exc:
                log.warning("could not resolve replicas", extra={"host": self.host,
                                                                 "error": str(exc)})
                found = []
            if found:
                self._urls = found
            self._expires = now + self.ttl_s
            return list(self._urls)

    def take(self, n: int) -> list[str]:
        """Return ``n`` base URLs: the replicas in turn, continuing where the last call
        stopped (so one-part calls spread too)."""
        urls = self.urls()
        with self._lock:
            start = self._cursor
            self._cursor = (start + n) % len(urls)
        return [urls[(start + i) % len(urls)] for i in range(n)]
