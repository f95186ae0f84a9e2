"""Reporting service: P&L, equity curve, journal, performance metrics."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "reporting"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Reporting service's Flask app."""
    from services.reporting.api import blueprints

    settings = settings or load_settings()
    return create_service_app(NAME, settings, blueprints=blueprints(),
                              description="Reporting: P&L, equity curve, journal, performance metrics")
