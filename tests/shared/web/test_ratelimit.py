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


def test_limit_headers_per_client_and_route_on_mutating_requests_only() -> None:
    from flask import Flask

    from shared.web.ratelimit import RequestRateLimit

    app = Flask("t")
    app.add_url_rule("/a", "write_a", lambda: "a", methods=["POST"])
    app.add_url_rule("/b", "write_b", lambda: "b", methods=["POST"])
    app.add_url_rule("/a", "read_a", lambda: "read", methods=["GET"])
    limiter = RequestRateLimit(app, "2 per minute")
    c = app.test_client()
    first = c.post("/a")
    assert first.headers["X-RateLimit-Limit"] == "2"
    assert first.headers["X-RateLimit-Remaining"] == "1"
    assert int(first.headers["X-RateLimit-Reset"]) > time.time()
    assert "Retry-After" not in first.headers  # only a 429 says when to retry
    assert c.post("/a").headers["X-RateLimit-Remaining"] == "0"
    over = c.post("/a")
    assert over.status_code == 429 and "2 per 1 minute" in over.get_data(as_text=True)
    assert 1 <= int(over.headers["Retry-After"]) <= 60
    assert c.post("/b").status_code == 200  # another route has its own counter
    assert c.post("/a", environ_base={"REMOTE_ADDR": "10.0.0.9"}).status_code == 200  # client
    read = c.get("/a")
    assert read.status_code == 200 and "X-RateLimit-Limit" not in read.headers
    assert c.post("/missing").status_code == 404  # unrouted requests are not counted
    assert not any("missing" in k for k in limiter.storage.storage)
