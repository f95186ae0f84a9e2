"""Pattern recognition service: candlestick patterns and their measured reliability."""
from __future__ import annotations

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

NAME = "pattern_recognition"


def create_app(settings: Settings | None = None) -> Flask:
    """Return the Pattern recognition service's Flask app."""
    from services.pattern_recognition.api import blueprints
    from services.pattern_recognition.service import CandlestickService

    settings = settings or load_settings()
    service = CandlestickService(settings)
    return create_service_app(NAME, settings, blueprints=blueprints(), service=service,
                              health_extra=service.health,
                              description="Pattern recognition: candlestick patterns and their measured reliability")
