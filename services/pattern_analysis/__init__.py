"""Pattern analysis service: chart patterns: support/resistance, breakouts, trends, double tops."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "pattern_analysis"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Pattern analysis service's Flask app."""
    from services.pattern_analysis.api import blueprints

    settings = settings or load_settings()
    return create_service_app(NAME, settings, blueprints=blueprints(),
                              description="Pattern analysis: chart patterns: support/resistance, breakouts, trends, double tops")
