"""The inter-service client against a real HTTP server on loopback: retries and breakers."""
from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from flask import Flask, jsonify
from werkzeug.serving import make_server

from shared.errors import AppError, ServiceUnavailable
from shared.http import ServiceClient, breaker_states, reset_breakers


class Upstream:
    """A tiny real server whose answers the test scripts."""

    def __init__(self) -> None:
        self.calls = 0
        self.mode = "ok"
        self.inflight = self.max_inflight = 0
        self._count = threading.Lock()
        app = Flask("upstream")

        @app.get("/api/v1/thing")
        def thing():  # type: ignore[no-untyped-def]
            self.calls += 1
            if self.mode == "500":
                return jsonify(status="error", data=None, error={"code": "x", "message": "down"}), 500
            if self.mode == "400":
                return jsonify(status="error", data=None,
                               error={"code": "validation_error", "message": "bad qty",
                                      "details": {"field": "qty"}}), 400
            if self.mode == "slow":
                with self._count:
                    self.inflight += 1
                    self.max_inflight = max(self.max_inflight, self.inflight)
                time.sleep(0.5)
                with self._count:
                    self.inflight -= 1
            return jsonify(status="success", data={"n": self.calls}, error=None, timestamp="t")

        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.port = self.server.server_port
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()


@pytest.fixture
def upstream() -> Iterator[Upstream]:
    reset_breakers()
    u = Upstream()
    yield u
    u.close()
    reset_breakers()


def client(u: Upstream, **kw: object) -> ServiceClient:
    opts = {"timeout": 2.0, "retries": 2, "fail_max": 3, "reset_timeout": 0.5}
    opts.update(kw)
    return ServiceClient("upstream", f"http://127.0.0.1:{u.port}", **opts)  # type: ignore[arg-type]


def test_success_unwraps_the_envelope(upstream: Upstream) -> None:
    assert client(upstream).get("/api/v1/thing") == {"n": 1}


def test_4xx_is_not_retried_and_keeps_the_targets_error(upstream: Upstream) -> None:
    upstream.mode = "400"
    with pytest.raises(AppError) as err:
        client(upstream).get("/api/v1/thing")
    assert upstream.calls == 1
    assert err.value.http_status == 400 and err.value.code == "validation_error"
    assert err.value.message == "bad qty"


def test_5xx_is_retried_then_reported(upstream: Upstream) -> None:
    upstream.mode = "500"
    with pytest.raises(ServiceUnavailable):
        client(upstream, fail_max=10).get("/api/v1/thing")
    assert upstream.calls == 3  # one try + two retries


def test_timeouts_are_retried(upstream: Upstream) -> None:
    upstream.mode = "slow"
    with pytest.raises(ServiceUnavailable, match="did not answer"):
        client(upstream, timeout=0.1, retries=1, fail_max=10).get("/api/v1/thing")


def test_breaker_opens_after_n_failures_then_half_opens(upstream: Upstream) -> None:
    upstream.mode = "500"
    c = client(upstream, retries=0, fail_max=3, reset_timeout=0.5)
    for _ in range(3):
        with pytest.raises(ServiceUnavailable):
            c.get("/api/v1/thing")
    assert breaker_states()["upstream"] == "open"
    calls = upstream.calls
    with pytest.raises(ServiceUnavailable, match="circuit breaker open"):
        c.get("/api/v1/thing")
    assert upstream.calls == calls, "an open breaker fails fast without calling"
    time.sleep(0.6)
    upstream.mode = "ok"
    assert c.get("/api/v1/thing")["n"] == calls + 1  # the half-open trial call goes through
    assert breaker_states()["upstream"] == "closed"


def test_calls_to_one_target_run_at_the_same_time(upstream: Upstream) -> None:
    """A closed breaker does not queue a process's calls to its target (pybreaker's does)."""
    from concurrent.futures import ThreadPoolExecutor

    upstream.mode = "slow"  # each call takes 0.5 s
    c = client(upstream, timeout=5.0)
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: c.get("/api/v1/thing"), range(3)))
    assert len(results) == 3 and upstream.calls == 3
    assert upstream.max_inflight >= 2, "the calls reached the target one after another"


def test_concurrent_failures_still_open_the_breaker(upstream: Upstream) -> None:
    from concurrent.futures import ThreadPoolExecutor

    upstream.mode = "500"
    c = client(upstream, retries=0, fail_max=4, reset_timeout=30)

    def call(_: int) -> str:
        try:
            c.get("/api/v1/thing")
        except ServiceUnavailable as exc:
            return exc.message
        return "ok"

    with ThreadPoolExecutor(4) as pool:
        msgs = list(pool.map(call, range(4)))
    # the call that trips the breaker reports it open (as pybreaker's own call does)
    assert sorted("failed with 500" in m for m in msgs) == [False, True, True, True], msgs
    assert breaker_states()["upstream"] == "open"
    calls = upstream.calls
    assert "circuit breaker open" in call(0) and upstream.calls == calls


def test_connection_refused_is_service_unavailable() -> None:
    reset_breakers()
    c = ServiceClient("nobody", "http://127.0.0.1:9", timeout=0.2, retries=1, fail_max=10)
    with pytest.raises(ServiceUnavailable):
        c.get("/x")
