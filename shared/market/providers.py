"""Provider routing: which providers serve a symbol class and timeframe, each behind a breaker.

A failing provider trips its own ``pybreaker`` circuit breaker after ``breaker_fail_max``
errors and is skipped until ``breaker_reset_s`` has passed; "not found" style answers
(``NotFound``, ``ValidationError``, ``UnprocessableError``) move on to the next provider
without counting as a failure.
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

from shared.errors import NotFound, UnprocessableError, ValidationError

log = logging.getLogger("market.providers")
_CLIENT_ERRORS = (NotFound, ValidationError, UnprocessableError)


class BarProvider(Protocol):
    name: str

    def fetch_bars(self, symbol: str, timeframe: str, start: object, end: object) -> pd.DataFrame: ...

    def health(self) -> dict[str, object]: ...


@dataclass
class ProviderStatus:
    calls: int = 0
    failures: int = 0
    skipped_open: int = 0
    last_error: str | None = None
    last_error_at: float | None = None
    last_success_at: float | None = None
    extra: dict[str, Any] = field(default_factory=dict)


class ProviderSet:
    """The configured providers, their breakers and their call statistics."""

    def __init__(self, factories: dict[str, Callable[[], BarProvider | None]], *,
                 fail_max: int, reset_s: float) -> None:
        self._factories = factories
        self._providers: dict[str, BarProvider | None] = {}
        self.breakers = {name: pybreaker.CircuitBreaker(
            fail_max=fail_max, reset_timeout=reset_s, exclude=list(_CLIENT_ERRORS), name=name)
            for name in factories}
        self.status = {name: ProviderStatus() for name in factories}
        self._lock = threading.RLock()  # a factory may ask for another provider

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

        Raises:
            pybreaker.CircuitBreakerError: when the breaker is open.
            Exception: whatever the provider raised.
        """
        provider = self.get(name)
        if provider is None:
            raise NotFound(f"provider {name} is not configured", field="provider")
        st = self.status[name]
        st.calls += 1
        try:
            out = self.breakers[name].call(getattr(provider, method), *args)
        except pybreaker.CircuitBreakerError:
            st.skipped_open += 1
            raise
        except _CLIENT_ERRORS:
            raise
        except Exception as exc:
            st.failures += 1
            st.last_error = f"{type(exc).__name__}: {exc}"[:300]
            st.last_error_at = time.time()
            log.warning("market provider failed", extra={"provider": name, "error": st.last_error})
            raise
        st.last_success_at = time.time()
        return out

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
