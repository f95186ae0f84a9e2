"""Fixtures for the reliability tests: every service's app in-process on one temp database."""
from __future__ import annotations

import importlib
from pathlib import Path
from typing import Any

import pytest
from flask import Flask

from shared.config import SERVICES, Settings
from shared.db import Database, migrate
from tests.conftest import make_settings

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


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    return reliability_settings(tmp_path_factory.mktemp("reliability"))


@pytest.fixture(scope="module")
def apps(module_settings: Settings) -> dict[str, Flask]:
    """Every service's app (built once per module, sharing one migrated database)."""
    return {name: build_app(name, module_settings) for name in SERVICE_MODULES}


def operations(spec: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    """Return (path, method, operation) for every operation in an OpenAPI document."""
    return [(path, method, op) for path, ops in spec["paths"].items() for method, op in ops.items()]


MUTATING = {"post", "put", "patch", "delete"}
