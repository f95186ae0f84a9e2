"""Prometheus metrics of one service process: requests and latency per route, DB, breakers.

Each process has its own registry; under several gunicorn workers each worker reports its own
counters, labelled with its pid so a scraper can sum them.
"""
from __future__ import annotations

import os
import time
from collections.abc import Callable
from typing import Any

from flask import Flask, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST

_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.0, 2.5, 5.0, 10.0)


class _Collector:
    """Gauges read at scrape time from the database stats and the circuit breakers."""

    def __init__(self, service: str, db_stats: Callable[[], dict[str, Any]] | None,
                 breakers: Callable[[], dict[str, str]]) -> None:
        self.service = service
        self.db_stats = db_stats
        self.breakers = breakers

    def collect(self) -> Any:
        pid = str(os.getpid())
        if self.db_stats is not None:
            s = self.db_stats()
            for key, help_ in (("retries", "SQLite lock retries"), ("queries", "queries run"),
                               ("failures", "queries failed"), ("transactions", "transactions"),
                               ("rollbacks", "transactions rolled back")):
                g_ = GaugeMetricFamily(f"suite_db_{key}", help_, labels=["service", "pid"])
                g_.add_metric([self.service, pid], float(s.get(key, 0)))
                yield g_
        states = GaugeMetricFamily(
            "suite_circuit_breaker_open", "1 when the breaker to a target is open, 0.5 half-open",
            labels=["service", "target", "state"])
        for target, state in self.breakers().items():
            value = {"closed": 0.0, "half-open": 0.5, "open": 1.0}.get(state, 0.0)
            states.add_metric([self.service, target, state], value)
        yield states


class RequestMetrics:
    """Request count and latency per (method, route, status) of one app, in its own registry."""

    def __init__(self, service: str, db_stats: Callable[[], dict[str, Any]] | None,
                 breakers: Callable[[], dict[str, str]]) -> None:
        self.service = service
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "suite_http_requests", "HTTP requests by route and status",
            ["service", "method", "route", "status"], registry=self.registry)
        self._latency = Histogram(
            "suite_http_request_seconds", "HTTP request latency by route",
            ["service", "method", "route"], buckets=_BUCKETS, registry=self.registry)
        self.registry.register(_Collector(service, db_stats, breakers))
        # labelled children by (method, route, status): ``labels()`` re-joins and re-checks
        # its label values on every call; the set of routes is fixed, so look each up once
        self._children: dict[tuple[str, str, int], tuple[Any, Any]] = {}

    def observe(self, req: Request, resp: Response, t0: float) -> None:
        """Count ``resp`` to ``req`` and its latency since ``t0`` (``time.perf_counter``)."""
        rule = req.url_rule
        key = (req.method, rule.rule if rule else "<unmatched>", resp.status_code)
        pair = self._children.get(key)
        if pair is None:
            pair = (self._latency.labels(self.service, key[0], key[1]),
                    self._requests.labels(self.service, key[0], key[1], str(key[2])))
            self._children[key] = pair
        pair[0].observe(time.perf_counter() - t0)
        pair[1].inc()


def add_metrics(app: Flask, service: str, db_stats: Callable[[], dict[str, Any]] | None,
                breakers: Callable[[], dict[str, str]]) -> RequestMetrics:
    """Serve ``GET /metrics``; return the recorder the caller's own hooks feed."""
    recorder = RequestMetrics(service, db_stats, breakers)

    def metrics() -> Response:
        """Prometheus metrics of this process."""
        return Response(generate_latest(recorder.registry), mimetype=CONTENT_TYPE_LATEST)

    metrics._api = {"raw": True, "mimetype": "text/plain", "summary": "Prometheus metrics",  # type: ignore[attr-defined]
                    "tags": ["system"], "response": {"type": "string"}}
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    return recorder
