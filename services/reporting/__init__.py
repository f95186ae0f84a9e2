"""Reporting service: P&L, equity curve, journal, performance metrics."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the web stack is imported by create_app only: the backtester imports
    from flask import Flask  # this package's pure domain without loading Flask

    from shared.config import Settings

NAME = "reporting"


def create_app(settings: Settings | None = None, service: object | None = None) -> Flask:
    """Return the Reporting service's Flask app (``service`` replaces the default one)."""
    from services.reporting.api import blueprints
    from services.reporting.service import ReportingService
    from shared.config import load_settings
    from shared.web import create_service_app

    settings = settings or load_settings()
    svc = service or ReportingService(settings)
    return create_service_app(NAME, settings, blueprints=blueprints(), service=svc,
                              database=svc.db,
                              description="Reporting: P&L, equity curve, journal, performance metrics")
