"""Technical analysis service: indicators (TA-Lib) and strategy signals."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "technical_analysis"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Technical analysis service's Flask app."""
    from services.technical_analysis.api import blueprints

    settings = settings or load_settings()
    return create_service_app(NAME, settings, blueprints=blueprints(),
                              description="Technical analysis: indicators (TA-Lib) and strategy signals")
