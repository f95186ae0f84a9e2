"""The timer-less in-memory rate-limit storage behind create_service_app's limiter."""
from __future__ import annotations

import threading
import time

from limits import parse
from limits.storage import storage_from_string
from limits.strategies import FixedWindowRateLimiter

from shared.web.ratelimit import STORAGE_URI, InlineExpiryMemoryStorage


def test_counts_expires_and_starts_no_threads() -> None:
    storage = storage_from_string(STORAGE_URI)
    assert isinstance(storage, InlineExpiryMemoryStorage)
    limiter = FixedWindowRateLimiter(storage)
    rule = parse("3 per 1 second")
    threads = threading.active_count()
    assert [limiter.hit(rule, "client") for _ in range(4)] == [True, True, True, False]
    assert limiter.hit(rule, "other")  # counters are per key
    assert threading.active_count() <= threads  # the base class starts a thread per window
    time.sleep(1.05)
    assert limiter.hit(rule, "client")  # a new window


def test_expired_keys_are_dropped_inline() -> None:
    storage = InlineExpiryMemoryStorage()
    storage.SWEEP_INTERVAL_S = 0.0
    storage.incr("a", expiry=0.01)
    time.sleep(0.02)
    storage.incr("b", expiry=60)  # the inline sweep runs before this change
    assert "a" not in storage.storage and storage.get("b") == 1
