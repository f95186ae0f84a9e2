"""Rate limiting of mutating routes: fixed-window counters from ``limits``, kept in process memory.

``RequestRateLimit`` is what ``create_service_app`` installs: one limit (``security.rate_limit``,
``limits`` syntax such as ``"300 per second"``) per client address and route, on POST, PUT,
PATCH and DELETE only, answered with a 429 and ``Retry-After`` when exceeded; every limited
response carries ``X-RateLimit-Limit``, ``-Remaining`` and ``-Reset`` (as Alpaca's API does;
``Retry-After`` only on the 429, where it means something).  It is hand-written on top of ``limits`` (the library flask-limiter
itself is built on) because flask-limiter re-resolved and re-parsed its limits, exemption
scopes and blueprint rules on every request: about a quarter of a millisecond per mutating
request on our 2-core machines, the largest single cost of an order submission besides the
work itself.  We use none of what that buys (decorators, per-route or shared limits, meta
limits, remote storages), so the one limit is parsed once and checked with one counter
increment.

limits' ``MemoryStorage`` starts a ``threading.Timer`` every 10 ms while requests arrive, only
to drop expired keys; starting that thread sits on the request path and, on our loaded 2-core
machines, cost milliseconds per mutating request.  Fixed-window counters already expire lazily
when read, so ``InlineExpiryMemoryStorage`` runs the same clean-up inline, at most once a
second, and never starts a thread.
"""
from __future__ import annotations

import math
import time
from typing import Any

from flask import Flask, Request, Response, g, request
from limits import parse
from limits.storage import MemoryStorage
from werkzeug.exceptions import TooManyRequests

#: the ``storage_uri`` that selects the storage below through ``limits.storage_from_string``
STORAGE_URI = "inlinememory://"
LIMITED_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class InlineExpiryMemoryStorage(MemoryStorage):
    """``MemoryStorage`` whose expiry runs on the calling thread, once a second at most."""

    STORAGE_SCHEME = ["inlinememory"]  # registered with limits by its metaclass on import
    SWEEP_INTERVAL_S = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.timer.cancel()  # the one timer the base class starts in its constructor
        self._next_sweep = 0.0

    # limits 5.8 calls this (name-mangled) before every counter change
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_INTERVAL_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


class RequestRateLimit:
    """One fixed-window limit per client address and route on the mutating requests of an app.

    Counters live in this process (under N gunicorn workers the effective ceiling is up to N
    times the rate).  Requests that match no route (404/405) are not counted.
    """

    def __init__(self, app: Flask, rate: str, *, hooks: bool = True) -> None:
        """Parse ``rate`` once; ``hooks=False`` leaves calling ``count``/``add_headers`` to
        the caller (``create_service_app`` runs them from its own one before/after hook)."""
        self.limit = parse(rate)
        self.storage = InlineExpiryMemoryStorage()
        self._expiry = self.limit.get_expiry()
        self._amount = self.limit.amount
        if hooks:
            app.before_request(self._check)
            app.after_request(self._headers)

    def count(self, req: Request) -> tuple[str, int] | None:
        """Count ``req`` against its client's limit on its route; return ``(key, count)``.

        Returns None for a request that is not limited (not mutating, or matching no route).
        Keep the result for ``add_headers``, then call ``enforce`` with it.
        """
        endpoint = req.endpoint
        if endpoint is None or req.method not in LIMITED_METHODS:
            return None
        key = self.limit.key_for(req.remote_addr or "127.0.0.1", endpoint)
        return key, self.storage.incr(key, self._expiry)

    def enforce(self, state: tuple[str, int]) -> None:
        """Raise 429 when the count ``count`` returned is over the limit.

        Raises:
            TooManyRequests: the limit is exceeded (``retry_after``: seconds to the next window).
        """
        if state[1] > self._amount:
            raise TooManyRequests(str(self.limit), retry_after=self._retry_after(state[0]))

    def add_headers(self, resp: Response, state: tuple[str, int]) -> None:
        """Add the ``X-RateLimit-*`` headers for the count ``count`` returned."""
        key, count = state
        headers = resp.headers
        headers.add("X-RateLimit-Limit", str(self._amount))
        headers.add("X-RateLimit-Remaining", str(max(0, self._amount - count)))
        headers.add("X-RateLimit-Reset", str(int(self.storage.get_expiry(key))))

    def _check(self) -> None:
        """Count the request; raise 429 when its client is over the limit on this route."""
        state = self.count(request._get_current_object())  # type: ignore[attr-defined]
        if state is not None:
            g._rate_limit = state
            self.enforce(state)

    def _retry_after(self, key: str) -> int:
        return max(1, math.ceil(self.storage.get_expiry(key) - time.time()))

    def _headers(self, resp: Response) -> Response:
        state: Any = g.pop("_rate_limit", None)
        if state is not None:
            self.add_headers(resp, state)
        return resp


__all__ = ["LIMITED_METHODS", "STORAGE_URI", "InlineExpiryMemoryStorage", "RequestRateLimit"]
