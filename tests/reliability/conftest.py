"""Fixtures for the reliability tests: every service's app in-process on one temp database."""
from __future__ import annotations

import importlib
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from flask import Flask
from werkzeug.serving import BaseWSGIServer, make_server

from shared.config import ASYNC_SERVICES, SERVICES, Settings
from shared.db import Database, migrate
from tests.conftest import make_settings

#: the Flask services (the stream server is an aiohttp app: tests/e2e/test_streams.py)
SERVICE_MODULES = {name: module for name, _, module in SERVICES if name not in ASYNC_SERVICES}
API_KEY = "rel-key-7f3a9c1e5b"


def build_app(name: str, settings: Settings) -> Flask:
    """Return service ``name``'s app built by its own ``create_app``."""
    return importlib.import_module(SERVICE_MODULES[name]).create_app(settings)


def reliability_settings(tmp_path: Path, **overrides: Any) -> Settings:
    """Return test settings with rate limiting off (unless overridden) on a migrated temp DB."""
    base: dict[str, Any] = {"security__rate_limit": ""}
    base.update(overrides)
    settings = make_settings(tmp_path, **base)
    database = Database.from_settings(settings)
    migrate(database)
    database.close()
    return settings


def port_overrides(ports: list[int]) -> dict[str, Any]:
    return {f"services__{name}__port": port
            for name, port in zip(SERVICE_MODULES, ports, strict=True)}


# A small universe and short streams keep the in-process suite CI-sized.
SMALL = {"market__universe_size": 25, "dashboard__stream_max_s": 0.3}


class _Late:
    """A WSGI callable whose app is set after the server bound its port."""

    app: Flask | None = None

    def __call__(self, environ: Any, start_response: Any) -> Any:
        assert self.app is not None
        return self.app(environ, start_response)


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Settings, dict]]:
    """Every service's app, each also served on a loopback port (bound first, on port 0, so
    no other process can take it) so that the services that call others over HTTP
    (coordination, dashboard) meet live peers; one migrated database."""
    servers: dict[str, BaseWSGIServer] = {}
    late = {name: _Late() for name in SERVICE_MODULES}
    try:
        for name in SERVICE_MODULES:
            servers[name] = make_server("127.0.0.1", 0, late[name], threaded=True)
        ports = [servers[n].socket.getsockname()[1] for n in SERVICE_MODULES]
        settings = reliability_settings(tmp_path_factory.mktemp("reliability"),
                                        **SMALL, **port_overrides(ports))
        built = {name: build_app(name, settings) for name in SERVICE_MODULES}
        for name, server in servers.items():
            late[name].app = built[name]
            threading.Thread(target=server.serve_forever, daemon=True,
                             name=f"serve-{name}").start()
        yield settings, built
    finally:
        for server in servers.values():
            server.shutdown()
            server.server_close()


@pytest.fixture(scope="module")
def module_settings(served: tuple[Settings, dict]) -> Settings:
    return served[0]


@pytest.fixture(scope="module")
def apps(served: tuple[Settings, dict]) -> dict[str, Flask]:
    return served[1]


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (path, method, operation) for every operation in an OpenAPI document."""
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


MUTATING = {"post", "put", "patch", "delete"}
