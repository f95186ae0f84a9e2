"""Scanner service: filter and rank the symbol universe."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "scanner"


def create_app(settings: Settings | None = None, *, market: object = None) -> Flask:
    """Return the Scanner service's Flask app.

    Raises:
        ConfigError: a preset with an unknown or bad filter in the ``scanner`` settings.
    """
    from services.scanner.api import blueprints
    from services.scanner.service import ScannerService
    from shared.db import get_database

    settings = settings or load_settings()
    db = get_database(settings)
    service = ScannerService(settings, db, market=market)
    return create_service_app(NAME, settings, blueprints=blueprints(), service=service,
                              database=db,
                              description="Scanner: filter and rank the symbol universe")
