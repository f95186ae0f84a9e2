"""Paper trading service: orders, fills, positions, account, risk; an Alpaca-compatible /v2 API."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "paper_trading"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Paper trading service's Flask app."""
    from services.paper_trading.api import blueprints

    settings = settings or load_settings()
    return create_service_app(NAME, settings, blueprints=blueprints(),
                              description="Paper trading: orders, fills, positions, account, risk; an Alpaca-compatible /v2 API")
