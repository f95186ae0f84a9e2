"""What the provider clients share: HTTP with bounded retries, one rate limiter per provider,
and the mapping of HTTP answers to the suite's errors.

Every request takes a slot of the provider's limiter first (its documented free-tier limit,
a moving window from the ``limits`` package).  When no slot frees within ``max_wait_s`` the
call raises ``RateLimited`` at once instead of sleeping: a free tier of 25 calls a day cannot
be waited out inside a request.  429 and 5xx answers, timeouts and connection faults are
retried by tenacity with exponential backoff, at most ``retries`` times and never past
``total_s`` in all, so one call blocks a few seconds at worst.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

import requests
from limits import RateLimitItemPerSecond
from limits.storage import MemoryStorage
from limits.strategies import MovingWindowRateLimiter
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    stop_after_delay,
)

from shared.errors import (
    AppError,
    AuthError,
    NotFound,
    RateLimited,
    UnprocessableError,
    UpstreamUnavailable,
    ValidationError,
)

USER_AGENT = "day-trading-suite/1.0 (market data client)"


@dataclass(frozen=True)
class HttpOptions:
    """How hard a client tries: request timeout, retries and their backoff, limiter wait."""

    timeout_s: float = 5.0  # one request; cut to what is left of total_s
    retries: int = 2  # after the first try
    backoff_s: float = 0.5  # first wait; doubles each retry
    backoff_max_s: float = 2.0  # one wait at most (a Retry-After beyond it is cut to it)
    total_s: float = 6.0  # all tries and waits of one call
    max_wait_s: float = 1.0  # longest wait for a limiter slot before RateLimited


class RateBudget:
    """A provider's rate limit: ``limit`` calls per ``period_s`` seconds (moving window),
    and optionally more windows (``also``: (limit, period_s) pairs, e.g. Tiingo's 50 an
    hour and 1,000 a day); a call takes a slot of every window or of none."""

    def __init__(self, name: str, limit: int, period_s: int, *,
                 also: tuple[tuple[int, int], ...] = (),
                 clock: Callable[[], float] = time.time) -> None:
        self.name = name
        self.limit = int(limit)
        self.period_s = int(period_s)
        self._items = [RateLimitItemPerSecond(int(n), int(p))
                       for n, p in ((limit, period_s), *also)]
        self._limiter = MovingWindowRateLimiter(MemoryStorage())
        self._lock = threading.Lock()
        self._clock = clock

    def _window(self, item: RateLimitItemPerSecond) -> dict[str, Any]:
        stats = self._limiter.get_window_stats(item, self.name)
        remaining = max(0, int(stats.remaining))
        wait = 0.0 if remaining > 0 else max(0.0, float(stats.reset_time) - self._clock())
        return {"limit": int(item.amount), "period_s": int(item.get_expiry()),
                "remaining": remaining, "next_slot_s": round(wait, 3)}

    def budget(self) -> dict[str, Any]:
        """Return the binding window: its limit, its period, the calls left now and the
        seconds to its next slot (the window with the fewest calls left, then the longest
        wait)."""
        windows = [self._window(item) for item in self._items]
        return min(windows, key=lambda w: (w["remaining"], -w["next_slot_s"]))

    def _take(self, cost: int) -> bool:
        with self._lock:
            if not all(self._limiter.test(item, self.name, cost=cost) for item in self._items):
                return False
            for item in self._items:
                self._limiter.hit(item, self.name, cost=cost)
            return True

    def acquire(self, max_wait_s: float, cost: int = 1) -> None:
        """Take ``cost`` slots (a request's weight), waiting up to ``max_wait_s`` for them.

        Raises:
            RateLimited: when no slot frees in time (``details.retry_after_s`` says when).
        """
        deadline = time.monotonic() + max(0.0, max_wait_s)
        while not self._take(cost):
            b = self.budget()
            wait = b["next_slot_s"]
            if time.monotonic() + wait > deadline:
                raise RateLimited(
                    f"{self.name}: its limit of {b['limit']} calls per {b['period_s']} s is "
                    f"used up; the next slot frees in {wait:.0f} s",
                    details={"provider": self.name, "retry_after_s": wait, "local": True})
            time.sleep(min(max(wait, 0.01), 0.25))


def _retry_after(exc: BaseException, cap: float) -> float | None:
    details = getattr(exc, "details", None)
    if isinstance(details, dict) and details.get("retry_after_s") is not None:
        return min(float(details["retry_after_s"]), cap)
    return None


def _retryable(exc: BaseException) -> bool:
    # our own limiter already waited what it may: trying again at once cannot succeed
    local = isinstance(exc, RateLimited) and isinstance(exc.details, dict) and \
        exc.details.get("local")
    return isinstance(exc, RateLimited | UpstreamUnavailable) and not local


def retrying(opts: HttpOptions, sleep: Callable[[float], None] = time.sleep) -> Retrying:
    """Return tenacity's retry loop for the provider's rate-limit answers and upstream
    failures (bounded by ``opts``); a refusal of our own limiter is not retried."""

    def wait(state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome else None
        base = min(opts.backoff_s * 2 ** (state.attempt_number - 1), opts.backoff_max_s)
        after = _retry_after(exc, opts.backoff_max_s) if exc else None
        return max(base, after or 0.0)

    return Retrying(retry=retry_if_exception(_retryable),
                    stop=stop_after_attempt(opts.retries + 1) | stop_after_delay(opts.total_s),
                    wait=wait, sleep=sleep, reraise=True)


def status_error(provider: str, status: int, message: str, *, field: str = "symbol",
                 retry_after: str | None = None) -> AppError:
    """Return the suite's error for an HTTP error ``status`` of ``provider``."""
    text = f"{provider}: {message}"[:300]
    if status == 429:
        after = None
        if retry_after and retry_after.strip().isdigit():
            after = float(retry_after)
        return RateLimited(f"{provider}: rate limited (429): {message}"[:300],
                           details={"provider": provider, "retry_after_s": after})
    if status >= 500:
        return UpstreamUnavailable(f"{provider}: server error {status}: {message}"[:300],
                                   details={"provider": provider})
    if status in (401, 402, 403):  # 402: outside the plan (FMP's "Restricted Endpoint")
        return AuthError(f"{provider}: {status} (check its API key or plan): {message}"[:300],
                         details={"provider": provider})
    if status == 404:
        return NotFound(text, field=field, details={"provider": provider})
    if status in (400, 422):
        return ValidationError(text, field=field, details={"provider": provider})
    return UnprocessableError(f"{provider}: HTTP {status}: {message}"[:300],
                              details={"provider": provider})


class HttpSource:
    """One provider's HTTP access: base URL, session, limiter, retries, error mapping.

    ``error_of(status, body)`` is the provider's reader of its own error bodies: it returns
    an ``AppError`` for an answer that is an error (whatever its status), else None.
    """

    def __init__(self, name: str, base_url: str, budget: RateBudget,
                 options: HttpOptions | None = None, *,
                 error_of: Callable[[int, Any], AppError | None] | None = None,
                 headers: Mapping[str, str] | None = None) -> None:
        self.name = name
        self.base_url = base_url.rstrip("/")
        self.limiter = budget
        self.options = options or HttpOptions()
        self.session = requests.Session()
        self.session.headers.update({"User-Agent": USER_AGENT, "Accept": "application/json",
                                     **(headers or {})})
        self._error_of = error_of
        #: how the retries wait (``time.sleep``; a test may record the waits instead)
        self.sleep: Callable[[float], None] = time.sleep
        self.calls = 0
        self.last_status: int | None = None
        self.last_error: str | None = None

    def get_json(self, path: str, params: Mapping[str, Any] | None = None, *,
                 decimals: bool = False, field: str = "symbol") -> Any:
        """Return the JSON answer of ``GET base_url + path`` (numbers as Decimal if
        ``decimals``), retried on 429/5xx/timeouts within the options' bounds.

        Raises:
            RateLimited: the limiter or the provider refused (after the retries).
            UpstreamUnavailable: 5xx, timeouts, unreachable or unreadable answers.
            NotFound, ValidationError, AuthError, UnprocessableError: the provider's 4xx.
        """
        deadline = time.monotonic() + self.options.total_s
        for attempt in retrying(self.options, self.sleep):
            with attempt, self.recording():
                left = min(self.options.timeout_s, deadline - time.monotonic())
                floor = min(0.5, self.options.timeout_s)  # a last try gets a fair chance
                return self._once(path, params, decimals, field, max(left, floor))
        raise AssertionError("unreachable")  # pragma: no cover - reraise=True

    @contextmanager
    def recording(self) -> Iterator[None]:
        """Note the outcome of one request for ``health()``: its error, or none."""
        try:
            yield
        except AppError as exc:
            self.last_error = f"{type(exc).__name__}: {exc}"[:300]
            raise
        self.last_error = None

    def _once(self, path: str, params: Mapping[str, Any] | None, decimals: bool,
              field: str, timeout_s: float) -> Any:
        self.limiter.acquire(self.options.max_wait_s)
        self.calls += 1
        url = self.base_url + path
        try:
            resp = self.session.get(url, params=dict(params or {}),
                                    timeout=timeout_s)
        except requests.RequestException as exc:
            raise UpstreamUnavailable(f"{self.name}: {type(exc).__name__}: {exc}"[:300],
                                      details={"provider": self.name}) from exc
        self.last_status = resp.status_code
        try:
            body = resp.json(parse_float=Decimal) if decimals else resp.json()
        except ValueError:
            body = resp.text[:300]
        if self._error_of is not None:
            err = self._error_of(resp.status_code, body)
            if err is not None:
                raise err
        if resp.status_code >= 400:
            raise status_error(self.name, resp.status_code, _message(body), field=field,
                               retry_after=resp.headers.get("Retry-After"))
        if isinstance(body, str):
            raise UpstreamUnavailable(f"{self.name}: unreadable answer: {body[:120]!r}",
                                      details={"provider": self.name})
        return body

    def close(self) -> None:
        self.session.close()


def _message(body: Any) -> str:
    if isinstance(body, dict):
        for key in ("Error Message", "error", "message", "detail", "msg", "Information",
                    "Note"):
            if body.get(key):
                return str(body[key])
    return str(body)[:200]
