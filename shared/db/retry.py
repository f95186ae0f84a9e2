"""Retry policy for lock contention (tenacity), and nothing else.

Only SQLite's "database is locked" / "busy" errors and PostgreSQL's equivalents (serialization
failures 40001, deadlocks 40P01, lock timeouts 55P03, a dropped connection: see
``shared.db.dialect.is_pg_retryable``) are retried: every other error is a bug or an
operational fault and must surface at once.  Each retry is logged to the
``database_operations`` logger (``logs/database_operations.log``).
"""
from __future__ import annotations

import logging
import sqlite3
from collections.abc import Callable
from typing import TypeVar

from tenacity import (
    RetryCallState,
    Retrying,
    retry_if_exception,
    stop_after_attempt,
    wait_exponential_jitter,
)

from shared.db.dialect import is_pg_retryable, pg_fault
from shared.errors import DatabaseBusyError

T = TypeVar("T")
log = logging.getLogger("database_operations")
_LOCK_MARKERS = ("database is locked", "database is busy", "database table is locked")


def is_lock_error(exc: BaseException) -> bool:
    """Return True when ``exc`` is a transient lock/busy error (SQLite or PostgreSQL)."""
    if isinstance(exc, sqlite3.OperationalError):
        return any(m in str(exc).lower() for m in _LOCK_MARKERS)
    return is_pg_retryable(exc)


def _log_retry(state: RetryCallState) -> None:
    exc = state.outcome.exception() if state.outcome else None
    log.warning(
        "sqlite lock, retrying",
        extra={"attempt": state.attempt_number, "error": str(exc),
               "sleep_s": round(state.upcoming_sleep, 4), "op": getattr(state.fn, "__name__", "")},
    )


def call_with_lock_retry(
    fn: Callable[[], T],
    *,
    attempts: int,
    initial: float,
    maximum: float,
    on_retry: Callable[[], None] | None = None,
) -> T:
    """Call ``fn`` and retry it with exponential backoff and jitter while the database is locked.

    Raises:
        DatabaseBusyError: when every attempt met a lock.
        Exception: any non-lock error from ``fn``, at once.
    """

    def before_sleep(state: RetryCallState) -> None:
        _log_retry(state)
        if on_retry is not None:
            on_retry()

    retrying = Retrying(
        retry=retry_if_exception(is_lock_error),
        stop=stop_after_attempt(attempts),
        wait=wait_exponential_jitter(multiplier=initial, max=maximum, jitter=initial),
        before_sleep=before_sleep,
        reraise=True,
    )
    try:
        return retrying(fn)
    except Exception as exc:
        if is_lock_error(exc):
            log.error("sqlite lock, giving up", extra={"attempts": attempts, "error": str(exc)})
            what = pg_fault(exc) or "the database stayed locked"
            raise DatabaseBusyError(f"{what} after {attempts} attempts", details=str(exc)) from exc
        raise
