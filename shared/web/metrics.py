"""Prometheus metrics of one service: requests and latency per route, DB, breakers.

Under gunicorn (``shared.web.runner``) the service runs in prometheus_client's multiprocess
mode: ``prepare_multiprocess`` gives the service a fresh ``PROMETHEUS_MULTIPROC_DIR`` before
its app is built, every worker writes its request counters and latency histograms to its own
files there, and ``/metrics`` (served by whichever worker) merges them all with
``MultiProcessCollector``: one scrape is the whole service, and a worker's counts outlive it
when gunicorn replaces it (``mark_dead`` in ``child_exit``).  The database and breaker gauges
are read at scrape time and are the answering worker's, labelled with its pid.  Without the
variable (tests, the dev server) each process keeps its own registry as before.
"""
from __future__ import annotations

import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask, Request, Response
from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest, values
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.exposition import CONTENT_TYPE_LATEST
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead

MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
_OWNER = "owner.pid"  # the master that made the directory (MultiProcessCollector reads *.db)


def prepare_multiprocess(service: str) -> Path:
    """Give ``service``'s gunicorn master and workers a fresh, empty metrics directory and
    switch prometheus_client to its multiprocess values; return the directory.

    ``$PROMETHEUS_MULTIPROC_DIR/<service>`` when the variable names a base directory (a
    container's, an operator's), else a new temp directory.  Call before the app is built:
    metrics created earlier keep their in-process values.
    """
    base = os.environ.get(MULTIPROC_ENV)
    if base:
        path = Path(base) / service
        shutil.rmtree(path, ignore_errors=True)  # counts of a previous run are not this one's
        path.mkdir(parents=True)
    else:
        path = Path(tempfile.mkdtemp(prefix=f"trading-{service}-metrics-"))
    (path / _OWNER).write_text(str(os.getpid()))
    os.environ[MULTIPROC_ENV] = str(path)
    # prometheus_client picks its value class when first imported (this module already has
    # it imported); pick again now that the variable is set
    values.ValueClass = values.get_value_class()
    return path


def release_multiprocess(path: Path) -> None:
    """Remove the metrics directory ``prepare_multiprocess`` made, unless a newer start of
    the service has taken it over meanwhile (a restart's new master)."""
    try:
        if (path / _OWNER).read_text() != str(os.getpid()):
            return
    except OSError:
        return
    shutil.rmtree(path, ignore_errors=True)


def mark_dead(pid: int) -> None:
    """Drop an exited worker's live gauges (its counters stay in the service's totals)."""
    path = os.environ.get(MULTIPROC_ENV)
    if path:
        mark_process_dead(pid, path)

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
        self.multiproc_dir = os.environ.get(MULTIPROC_ENV)
        self.registry = CollectorRegistry()
        self._requests = Counter(
            "suite_http_requests", "HTTP requests by route and status",
            ["service", "method", "route", "status"], registry=self.registry)
        self._latency = Histogram(
            "suite_http_request_seconds", "HTTP request latency by route",
            ["service", "method", "route"], buckets=_BUCKETS, registry=self.registry)
        # workers replaced because their memory grew (shared.web.memory_guard)
        self.recycles = Counter(
            "suite_worker_recycles", "Workers replaced because their memory grew past the limit",
            ["service"], registry=self.registry).labels(service)
        self._collector = _Collector(service, db_stats, breakers)
        self.registry.register(self._collector)
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

    def exposition(self) -> bytes:
        """Return the metrics text: every worker's requests merged (multiprocess mode), or
        this process's."""
        if not self.multiproc_dir or not os.path.isdir(self.multiproc_dir):
            return generate_latest(self.registry)
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path=self.multiproc_dir)
        registry.register(self._collector)
        return generate_latest(registry)


def add_metrics(app: Flask, service: str, db_stats: Callable[[], dict[str, Any]] | None,
                breakers: Callable[[], dict[str, str]]) -> RequestMetrics:
    """Serve ``GET /metrics``; return the recorder the caller's own hooks feed."""
    recorder = RequestMetrics(service, db_stats, breakers)

    def metrics() -> Response:
        """Prometheus metrics of this service (all its workers)."""
        return Response(recorder.exposition(), mimetype=CONTENT_TYPE_LATEST)

    metrics._api = {"raw": True, "mimetype": "text/plain", "summary": "Prometheus metrics",  # type: ignore[attr-defined]
                    "tags": ["system"], "response": {"type": "string"}}
    app.add_url_rule("/metrics", "metrics", metrics, methods=["GET"])
    return recorder
