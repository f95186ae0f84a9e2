"""Run one service: under gunicorn (the default) or Flask's own server with reload (``--dev``).

Every ``services/<name>/__main__.py`` is ``raise SystemExit(main(NAME, create_app))``.

Under gunicorn the app is preloaded in the master and the workers are forked from it, so the
pages holding pandas, TA-Lib and the app are shared instead of loaded once per worker (the
suite's memory budget depends on it); ``gc.freeze()`` before the fork keeps the collector from
touching, and so copying, those pages.  The master registers the service and heartbeats
(``when_ready``); workers and the dev server start the app's background tasks: a service that
needs a thread appends a zero-argument callable to ``app.extensions["background_tasks"]`` in
``create_app`` and the runner calls it in each serving process, never at import.
"""
from __future__ import annotations

import argparse
import gc
import importlib
import importlib.util
import logging
import os
import signal
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from flask import Flask
from gunicorn.app.base import BaseApplication

from shared.config import Settings, load_settings
from shared.supervisor.heartbeat import Heartbeat
from shared.web.memory_guard import MemoryGuard
from shared.web.metrics import mark_dead, prepare_multiprocess, release_multiprocess
from shared.web.worker import BufferedWorker

Factory = Callable[[Settings], Flask]
log = logging.getLogger("runner")


def start_background_tasks(app: Flask) -> int:
    """Call every callable in ``app.extensions["background_tasks"]``; return how many ran."""
    tasks = list(app.extensions.get("background_tasks", ()))
    for task in tasks:
        task()
    return len(tasks)


def gunicorn_options(name: str, settings: Settings) -> dict[str, Any]:
    """Return the gunicorn settings for ``name`` from ``settings.services[name]``."""
    svc = settings.services[name]
    sec = settings.security
    worker_class: Any = "gthread" if svc.threads > 1 else "sync"
    if svc.worker == "buffered":
        worker_class = BufferedWorker.configured(
            sec.request_read_timeout_s, sec.max_connections_per_worker, sec.max_body_bytes)
    return {
        "bind": f"{settings.security.bind_host}:{svc.port}",
        "workers": svc.workers,
        "threads": svc.threads,
        "worker_class": worker_class,
        "timeout": svc.timeout_s,
        "graceful_timeout": settings.supervisor.graceful_timeout_s,
        "preload_app": True,
        # gunicorn >= 25 opens one control socket per user by default; nine masters would
        # fight over it, and the manager is our control interface anyway.
        "control_socket_disable": True,
        "proc_name": f"trading-{name}",
        "accesslog": None,
        "errorlog": "-",
        "loglevel": "info",
    }


class ServiceApplication(BaseApplication):
    """A gunicorn application that builds the service's app once, in the master."""

    def __init__(self, name: str, factory: Factory, settings: Settings,
                 metrics_dir: Path | None = None) -> None:
        self.name = name
        self.factory = factory
        self.settings = settings
        self.options = gunicorn_options(name, settings)
        self.flask_app: Flask | None = None
        self.heartbeat: Heartbeat | None = None
        # every worker's metrics in one directory (``prepare_multiprocess``), removed at exit
        self.metrics_dir = metrics_dir
        super().__init__()

    def load_config(self) -> None:
        for key, value in self.options.items():
            self.cfg.set(key, value)
        self.cfg.set("when_ready", self._when_ready)
        self.cfg.set("post_worker_init", self._post_worker_init)
        self.cfg.set("post_request", self._post_request)
        self.cfg.set("child_exit", self._child_exit)
        self.cfg.set("on_exit", self._on_exit)

    def load(self) -> Flask:
        if self.flask_app is None:
            self.flask_app = self.factory(self.settings)
        return self.flask_app

    def _when_ready(self, server: Any) -> None:
        if self.flask_app is not None:
            # The master never serves; its connections must not be inherited by workers.
            self.flask_app.extensions["db"].close()
        self.heartbeat = Heartbeat(self.name, self.settings, os.getpid())
        self.heartbeat.start()
        gc.freeze()

    def _post_worker_init(self, worker: Any) -> None:
        sup = self.settings.supervisor
        worker.memory_guard = MemoryGuard(self.settings.services[self.name].recycle_growth_mb,
                                          sup.worker_warmup_s, sup.memory_check_s)
        if self.flask_app is not None:
            start_background_tasks(self.flask_app)

    def _post_request(self, worker: Any, req: Any, environ: Any, resp: Any) -> None:
        """Replace the worker once its memory has grown too far (``MemoryGuard``): it stops
        taking connections, finishes the requests it holds and exits; the master forks a
        fresh one."""
        guard: MemoryGuard | None = getattr(worker, "memory_guard", None)
        if guard is None or not worker.alive:
            return
        reason = guard.check()
        if reason is None:
            return
        log.warning("replacing worker %s of %s: %s", worker.pid, self.name, reason,
                    extra={"service": self.name, "pid": worker.pid,
                           "private_mb": round((guard.last_kib or 0) / 1024, 1),
                           "level_mb": round((guard.level_kib or 0) / 1024, 1)})
        metrics = self.flask_app.extensions.get("metrics") if self.flask_app else None
        if metrics is not None:
            metrics.recycles.inc()
        worker.alive = False

    def _child_exit(self, server: Any, worker: Any) -> None:
        mark_dead(worker.pid)

    def _on_exit(self, server: Any) -> None:
        if self.heartbeat is not None:
            self.heartbeat.stop()
        if self.metrics_dir is not None:
            release_multiprocess(self.metrics_dir)


def _run_dev(name: str, factory: Factory, settings: Settings) -> int:
    from werkzeug.serving import is_running_from_reloader, run_simple

    host, port = settings.security.bind_host, settings.port(name)
    if not is_running_from_reloader():
        # The reloader parent only binds the port and restarts the child on code changes;
        # the app is built in the child.  The manager supervises this parent process.
        def placeholder(environ: Any, start_response: Any) -> list[bytes]:
            raise RuntimeError("the reloader parent never serves requests")

        run_simple(host, port, placeholder, use_reloader=True, threaded=True)
        return 0
    app = factory(settings)
    heartbeat = Heartbeat(name, settings, os.getppid())
    heartbeat.start()

    def on_term(signum: int, frame: Any) -> None:
        heartbeat.stop()
        sys.exit(0)

    signal.signal(signal.SIGTERM, on_term)
    start_background_tasks(app)
    try:
        run_simple(host, port, app, use_reloader=True, threaded=True)
    finally:
        heartbeat.stop()
    return 0


def wait_for_gate(factory: Factory, gate: Path, timeout_s: float = 600.0) -> bool:
    """Import the service's modules, then wait until ``gate`` exists; False on timeout.

    The manager starts every process at once with a gate each and opens the gates group by
    group: the slow, dependency-free part (importing pandas, TA-Lib and the service's own
    modules) overlaps with the earlier groups, while building the app and binding the port
    still happen in start order.
    """
    package = factory.__module__
    for routes in (f"{package}.api", f"{package}.entrypoints.api"):  # flat or layered package
        if importlib.util.find_spec(routes.rsplit(".", 1)[0]) is not None and \
                importlib.util.find_spec(routes) is not None:
            importlib.import_module(routes)
            break
    deadline = time.monotonic() + timeout_s
    while not gate.exists():
        if time.monotonic() > deadline or os.getppid() == 1:  # manager gone: do not linger
            return False
        time.sleep(0.02)
    return True


def main(name: str, factory: Factory, argv: list[str] | None = None) -> int:
    """Serve service ``name`` until SIGTERM; return the exit status.

    Raises:
        ConfigError: when the settings are invalid (before anything binds).
    """
    parser = argparse.ArgumentParser(prog=f"python -m {factory.__module__}",
                                     description=f"Run the {name} service.")
    parser.add_argument("--dev", action="store_true",
                        help="Flask's development server with code reload instead of gunicorn")
    args = parser.parse_args(argv)
    gate = os.environ.pop("SUITE_START_GATE", None)
    if gate and not wait_for_gate(factory, Path(gate)):
        print(f"{name}: start gate {gate} never opened; exiting", file=sys.stderr)
        return 1
    settings = load_settings()
    if args.dev:
        return _run_dev(name, factory, settings)
    # before the app (and so its metrics) is built: one scrape is then the whole service
    metrics_dir = prepare_multiprocess(name)
    ServiceApplication(name, factory, settings, metrics_dir).run()
    return 0
