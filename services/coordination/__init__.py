"""Coordination service: market clock, workflow cycle, decision ledger, service registry."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "coordination"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Coordination service's Flask app.

    The workflow loop is not started here: the runner calls ``service.boot`` in each serving
    process (``background_tasks``), where a database lease lets exactly one of them run it.
    """
    from services.coordination.api import blueprints
    from services.coordination.service import CoordinationService
    from shared.db import get_database

    settings = settings or load_settings()
    service = CoordinationService(settings, get_database(settings))
    app = create_service_app(NAME, settings, blueprints=blueprints(), service=service,
                             database=service.db,
                             description="Coordination: market clock, workflow cycle, "
                                         "decision ledger, service registry")
    app.extensions.setdefault("background_tasks", []).append(service.boot)
    return app
