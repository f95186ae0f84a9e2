"""Scanner service: filter and rank the symbol universe."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "scanner"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Scanner service's Flask app."""
    from services.scanner.api import blueprints

    settings = settings or load_settings()
    return create_service_app(NAME, settings, blueprints=blueprints(),
                              description="Scanner: filter and rank the symbol universe")
