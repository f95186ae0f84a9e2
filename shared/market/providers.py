"""Provider routing: which providers serve a symbol class and timeframe, each behind a breaker.

A failing provider trips its own ``pybreaker`` circuit breaker after ``breaker_fail_max``
errors and is skipped until ``breaker_reset_s`` has passed; "not found" style answers
(``NotFound``, ``ValidationError``, ``UnprocessableError``) move on to the next provider
without counting as a failure (the provider answered, so its run of failures ends); a 429
counts, and the provider also rests until its rate budget has a slot.
"""
from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

import pandas as pd
import pybreaker

from shared.errors import NotFound, RateLimited, UnprocessableError, ValidationError

log = logging.getLogger("market.providers")
_CLIENT_ERRORS = (NotFound, ValidationError, UnprocessableError)


class BarProvider(Protocol):
    name: str

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object) -> pd.DataFrame: ...

    def health(self) -> dict[str, object]: ...


class ProviderSkipped(NotFound):
    """A provider not asked: not configured (its keys missing), or waiting for its rate
    budget after a 429.  Not a failure: the chain moves on without counting it."""


def is_rate_limited(exc: BaseException) -> bool:
    """Return whether ``exc`` is a provider's "too many requests" (a 429 or its own words)."""
    return isinstance(exc, RateLimited) or getattr(exc, "status_code", None) == 429


@dataclass
class ProviderStatus:
    calls: int = 0
    failures: int = 0
    skipped_open: int = 0
    rate_limited: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None
    opened_at: float | None = None  # when the breaker last opened (wall time)
    wait_until: float | None = None  # not asked before this (a 429's budget wait)
    extra: dict[str, Any] = field(default_factory=dict)


class _Opened(pybreaker.CircuitBreakerListener):
    def __init__(self, status: ProviderStatus) -> None:
        self.status = status

    def state_change(self, cb: Any, old_state: Any, new_state: Any) -> None:
        if getattr(new_state, "name", None) == pybreaker.STATE_OPEN:
            self.status.opened_at = time.time()


class ProviderSet:
    """The configured providers, their breakers and their call statistics."""

    def __init__(self, factories: dict[str, Callable[[], BarProvider | None]], *,
                 fail_max: int, reset_s: float,
                 max_wait_s: float = 300.0) -> None:
        self._factories = factories
        self._providers: dict[str, BarProvider | None] = {}
        self.status = {name: ProviderStatus() for name in factories}
        # the tripping call raises its own error (its message is the one worth showing)
        self.breakers = {name: pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_s, exclude=list(_CLIENT_ERRORS), name=name,
            listeners=[_Opened(self.status[name])], throw_new_error_on_trip=False)
            for name in factories}
        self.max_wait_s = max_wait_s
        self._lock = threading.RLock()  # a factory may ask for another provider

    @property
    def names(self) -> list[str]:
        return list(self._factories)

    def built(self, name: str) -> bool:
        """Return whether ``name`` was built already (asked for once)."""
        return name in self._providers

    def get(self, name: str) -> BarProvider | None:
        """Return the provider (built on first use), or None when it is not configured."""
        if name not in self._providers:
            with self._lock:
                if name not in self._providers:
                    factory = self._factories.get(name)
                    self._providers[name] = factory() if factory else None
        return self._providers[name]

    def call(self, name: str, method: str, *args: Any) -> Any:
        """Call ``provider.method(*args)`` through the provider's breaker.

        A 429 counts as a failure (the breaker sees it) and the provider is not asked again
        until its rate budget has a slot (``budget()["next_slot_s"]``, or the error's
        ``details["retry_after_s"]``), at most ``max_wait_s``: the chain moves on meanwhile.

        Raises:
            ProviderSkipped: not configured, or waiting for its rate budget.
            pybreaker.CircuitBreakerError: when the breaker is open.
            Exception: whatever the provider raised.
        """
        provider = self.get(name)
        if provider is None:
            raise ProviderSkipped(f"provider {name} is not configured", field="provider")
        st = self.status[name]
        if st.wait_until is not None and time.time() < st.wait_until:
            raise ProviderSkipped(f"provider {name} waits for its rate budget "
                                  f"({st.wait_until - time.time():.0f} s)", field="provider")
        fn = getattr(provider, method)

        def attempt(*a: Any) -> Any:  # counted only when the breaker lets it through
            st.calls += 1
            return fn(*a)

        try:
            out = self.breakers[name].call(attempt, *args)
        except pybreaker.CircuitBreakerError:
            st.skipped_open += 1
            raise
        except _CLIENT_ERRORS:
            raise
        except Exception as exc:
            st.failures += 1
            st.last_error = f"{type(exc).__name__}: {exc}"[:300]
            st.last_error_at = time.time()
            if is_rate_limited(exc):
                st.rate_limited += 1
                st.wait_until = time.time() + self._wait_s(provider, exc)
            log.warning("market provider failed", extra={"provider": name, "error": st.last_error})
            raise
        st.last_success_at = time.time()
        st.wait_until = None
        return out

    def _wait_s(self, provider: Any, exc: BaseException) -> float:
        """Return how long a rate-limited provider rests: its budget's next slot or the
        answer's Retry-After, whichever is later (1 s when neither says)."""
        details = getattr(exc, "details", None)
        after = details.get("retry_after_s") if isinstance(details, dict) else None
        waits = [float(after or getattr(exc, "retry_after", None) or 0.0)]
        budget = self.budget(provider)
        if budget:
            waits.append(float(budget.get("next_slot_s") or 0.0))
        return min(max(max(waits), 1.0), self.max_wait_s)

    @staticmethod
    def budget(provider: Any) -> dict[str, Any] | None:
        """Return ``provider.budget()`` (None when it has none or it fails)."""
        fn = getattr(provider, "budget", None)
        if fn is None:
            return None
        try:
            out = fn()
        except Exception as exc:  # noqa: BLE001 - a status read must not fail the caller
            log.warning("provider budget failed", extra={"error": str(exc)[:200]})
            return None
        return dict(out) if out else None

    def open_until(self, name: str) -> float | None:
        """Return when ``name``'s open breaker lets a call through again (None if closed)."""
        br, st = self.breakers[name], self.status[name]
        if br.current_state != pybreaker.STATE_OPEN or st.opened_at is None:
            return None
        return st.opened_at + float(br.reset_timeout)

    def health(self) -> dict[str, Any]:
        out = {}
        for name, br in self.breakers.items():
            st = self.status[name]
            prov = self._providers.get(name)
            out[name] = {
                "configured": prov is not None if name in self._providers else None,
                "breaker": br.current_state, "fail_counter": br.fail_counter,
                "calls": st.calls, "failures": st.failures, "skipped_open": st.skipped_open,
                "last_error": st.last_error, "last_error_at": st.last_error_at,
                "last_success_at": st.last_success_at,
            }
        return out
