"""``ServiceClient``: how one service calls another.

Retries (tenacity, exponential backoff with jitter) happen on connection errors, timeouts and
5xx answers, never on 4xx: a 4xx is the caller's mistake and repeating it cannot help.  Every
target has one pybreaker ``CircuitBreaker`` per process; while it is open, calls fail at once
with ``ServiceUnavailable`` instead of waiting on a dead service.
"""
from __future__ import annotations

import logging
import threading
from typing import Any

import pybreaker
import requests
from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from shared.errors import AppError, ServiceUnavailable

log = logging.getLogger("http_client")
_breakers: dict[str, pybreaker.CircuitBreaker] = {}
_lock = threading.Lock()


class _ServerError(Exception):
    """A 5xx answer (retryable, and counted by the breaker)."""

    def __init__(self, response: requests.Response) -> None:
        super().__init__(f"{response.status_code} from {response.url}")
        self.response = response


class ConcurrentBreaker(pybreaker.CircuitBreaker):
    """A pybreaker breaker whose closed state lets calls to its target run at the same time.

    ``pybreaker.CircuitBreaker.call`` holds the breaker's lock for the whole guarded call, so
    one process's calls to one target ran one after another even when its threads sent them
    together (coordination reads paper trading's account, positions and orders at once, and
    splits a pattern batch over the target's workers).  Here, while the breaker is closed,
    the lock is held only to read the state and to count the outcome; the counting is
    pybreaker's own (``_handle_error``/``_handle_success`` of the state current when the
    call ends, as its ``call`` does).  Open and half-open calls go through pybreaker's
    ``call`` unchanged: an open breaker fails at once and a half-open trial runs alone.
    Relies on pybreaker 1.4's internals (pinned in requirements.txt; a test covers it).
    """

    def call(self, func: Any, *args: Any, **kwargs: Any) -> Any:
        with self._lock:
            state = self.state
            if state.name != pybreaker.STATE_CLOSED or self.listeners:
                return state.call(func, *args, **kwargs)
        try:
            ret = func(*args, **kwargs)
        except BaseException as exc:
            with self._lock:
                self.state._handle_error(exc, reraise=False)
            raise
        with self._lock:
            self.state._handle_success()
        return ret


def breaker_for(target: str, fail_max: int = 5, reset_timeout: float = 30.0) -> pybreaker.CircuitBreaker:
    """Return the process's breaker for ``target`` (created on first use)."""
    with _lock:
        b = _breakers.get(target)
        if b is None:
            b = ConcurrentBreaker(fail_max=fail_max, reset_timeout=reset_timeout, name=target)
            _breakers[target] = b
        return b


def breaker_states() -> dict[str, str]:
    """Return ``{target: "closed"|"open"|"half-open"}`` for every breaker of this process."""
    with _lock:
        return {name: str(b.current_state) for name, b in sorted(_breakers.items())}


def reset_breakers() -> None:
    """Forget every breaker (tests)."""
    with _lock:
        _breakers.clear()


def _retryable(exc: BaseException) -> bool:
    return isinstance(exc, (requests.ConnectionError, requests.Timeout, _ServerError))


class ServiceClient:
    """Call one target service: ``client.get("/api/v1/x")`` returns the decoded JSON body.

    Envelope answers (``{"status": "success", "data": ...}``) are unwrapped to ``data``; an
    envelope error is raised as an ``AppError`` with the target's code, message and status.
    """

    def __init__(
        self,
        target: str,
        base_url: str,
        *,
        timeout: float = 5.0,
        retries: int = 2,
        fail_max: int = 5,
        reset_timeout: float = 30.0,
        api_key: str | None = None,
        session: requests.Session | None = None,
    ) -> None:
        self.target = target
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.retries = retries
        self.breaker = breaker_for(target, fail_max, reset_timeout)
        self.session = session or requests.Session()
        self.headers = {"X-API-Key": api_key} if api_key else {}

    @classmethod
    def for_service(cls, target: str, settings: Any, **kwargs: Any) -> ServiceClient:
        """Return a client for a suite service using the settings' URL, timeouts and breaker."""
        http = settings.http
        key = settings.security.api_key
        opts = {"timeout": http.timeout_s, "retries": http.retries,
                "fail_max": http.breaker_fail_max, "reset_timeout": http.breaker_reset_s,
                "api_key": key.get_secret_value() if key else None}
        opts.update(kwargs)
        return cls(target, settings.url(target), **opts)

    def _once(self, method: str, path: str, timeout: float, base_url: str | None = None,
              **kwargs: Any) -> requests.Response:
        headers = {**self.headers, **kwargs.pop("headers", {})}
        resp = self.session.request(method, (base_url or self.base_url) + path,
                                    timeout=timeout, headers=headers, **kwargs)
        if resp.status_code >= 500:
            raise _ServerError(resp)
        return resp

    def request_raw(self, method: str, path: str, *, timeout: float | None = None,
                    base_url: str | None = None, **kwargs: Any) -> requests.Response:
        """Send one request through the breaker and retries; return the final response.

        ``base_url`` sends it to one replica of the target (``shared.http.replicas``)
        instead of the configured URL; the target's breaker is the same.

        Raises:
            ServiceUnavailable: when the breaker is open or every attempt failed.
        """
        t = self.timeout if timeout is None else timeout

        def before_sleep(state: RetryCallState) -> None:
            exc = state.outcome.exception() if state.outcome else None
            log.warning("retrying call", extra={"target": self.target, "path": path,
                                                "attempt": state.attempt_number, "error": str(exc)})

        def guarded() -> requests.Response:
            return self.breaker.call(self._once, method, path, t, base_url, **dict(kwargs))

        try:
            return Retrying(
                retry=retry_if_exception(_retryable),
                stop=stop_after_attempt(self.retries + 1),
                wait=wait_exponential_jitter(multiplier=0.05, max=1.0, jitter=0.05),
                before_sleep=before_sleep,
                reraise=True,
            )(guarded)
        except pybreaker.CircuitBreakerError:
            raise ServiceUnavailable(f"{self.target} is unavailable (circuit breaker open)",
                                     details={"target": self.target, "breaker": "open"}) from None
        except _ServerError as exc:
            return exc.response
        except (requests.ConnectionError, requests.Timeout) as exc:
            raise ServiceUnavailable(f"{self.target} did not answer: {type(exc).__name__}",
                                     details={"target": self.target, "path": path}) from None

    def request(self, method: str, path: str, **kwargs: Any) -> Any:
        """Send a request and return the envelope's ``data`` (or the plain JSON body).

        Raises:
            AppError: the target's own error (code, message, status kept).
            ServiceUnavailable: when the target is down, failing or its breaker is open.
        """
        resp = self.request_raw(method, path, **kwargs)
        try:
            body = resp.json() if resp.content else None
        except ValueError:
            body = None
        if resp.status_code >= 400:
            err = (body or {}).get("error") if isinstance(body, dict) else None
            if resp.status_code >= 500:
                raise ServiceUnavailable(f"{self.target} failed with {resp.status_code}",
                                         details={"target": self.target, "body": err})
            exc = AppError((err or {}).get("message") or f"{self.target} answered {resp.status_code}",
                           details=(err or {}).get("details"),
                           code=(err or {}).get("code") or "upstream_error")
            exc.http_status = resp.status_code
            raise exc
        if isinstance(body, dict) and "status" in body and "data" in body:
            return body["data"]
        return body

    def get(self, path: str, **kwargs: Any) -> Any:
        return self.request("GET", path, **kwargs)

    def post(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("POST", path, json=json, **kwargs)

    def delete(self, path: str, **kwargs: Any) -> Any:
        return self.request("DELETE", path, **kwargs)

    def patch(self, path: str, json: Any = None, **kwargs: Any) -> Any:
        return self.request("PATCH", path, json=json, **kwargs)
