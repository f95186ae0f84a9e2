"""Coordination service: market clock, workflow cycle, decision ledger, service registry."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the web stack is imported by create_app only: the backtester imports
    from flask import Flask  # this package's pure domain without loading Flask

    from shared.config import Settings

NAME = "coordination"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Coordination service's Flask app.

    The workflow loop is not started here: the runner calls ``service.boot`` in each serving
    process (``background_tasks``), where a database lease lets exactly one of them run it.
    """
    from services.coordination.api import blueprints
    from services.coordination.service import CoordinationService
    from shared.config import load_settings
    from shared.db import get_database
    from shared.web import create_service_app

    settings = settings or load_settings()
    service = CoordinationService(settings, get_database(settings))
    app = create_service_app(NAME, settings, blueprints=blueprints(), service=service,
                             database=service.db,
                             description="Coordination: market clock, workflow cycle, "
                                         "decision ledger, service registry")
    app.extensions.setdefault("background_tasks", []).append(service.boot)
    return app
