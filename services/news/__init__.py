"""News service: headlines and per-symbol sentiment."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "news"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the News service's Flask app."""
    from services.news.api import blueprints
    from services.news.service import NewsService

    settings = settings or load_settings()
    return create_service_app(NAME, settings, blueprints=blueprints(),
                              service=NewsService(settings),
                              description="News: headlines and per-symbol sentiment")
