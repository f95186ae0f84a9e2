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

from shared.config import SERVICES, Settings
from shared.db import Database, migrate
from tests.conftest import make_settings
from tests.manager.conftest import free_port_block

SERVICE_MODULES = {name: module for name, _, module in SERVICES}
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


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    ports = free_port_block(start=16500, stop=17400)
    return reliability_settings(tmp_path_factory.mktemp("reliability"),
                                **SMALL, **port_overrides(ports))


@pytest.fixture(scope="module")
def apps(module_settings: Settings) -> Iterator[dict[str, Flask]]:
    """Every service's app, each also served on its loopback port so that the services that
    call others over HTTP (coordination, dashboard) meet live peers; one migrated database."""
    built = {name: build_app(name, module_settings) for name in SERVICE_MODULES}
    servers: list[BaseWSGIServer] = []
    for name, app in built.items():
        server = make_server("127.0.0.1", module_settings.port(name), app, threaded=True)
        threading.Thread(target=server.serve_forever, daemon=True, name=f"serve-{name}").start()
        servers.append(server)
    try:
        yield built
    finally:
        for server in servers:
            server.shutdown()
            server.server_close()


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (path, method, operation) for every operation in an OpenAPI document."""
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


MUTATING = {"post", "put", "patch", "delete"}
