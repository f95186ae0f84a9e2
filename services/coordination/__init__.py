"""Coordination service: market clock, workflow cycle, service registry."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "coordination"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Coordination service's Flask app."""
    from services.coordination.api import blueprints

    settings = settings or load_settings()
    return create_service_app(NAME, settings, blueprints=blueprints(),
                              description="Coordination: market clock, workflow cycle, service registry")
