"""Pattern analysis service: chart patterns: support/resistance, breakouts, trends, double tops."""
from __future__ import annotations

from typing import TYPE_CHECKING

from flask import Flask

from shared.config import Settings, load_settings
from shared.web import create_service_app

if TYPE_CHECKING:
    from services.pattern_analysis.service import PatternService

NAME = "pattern_analysis"


def create_app(settings: Settings | None = None, *, service: PatternService | None = None
               ) -> Flask:
    """Return the Pattern analysis service's Flask app (``service`` replaces the default one,
    e.g. with another bar source)."""
    from services.pattern_analysis.api import blueprints
    from services.pattern_analysis.service import PatternService

    settings = settings or load_settings()
    svc = service or PatternService(settings)
    return create_service_app(NAME, settings, blueprints=blueprints(), service=svc,
                              database=svc.db, ready_check=svc.ready, health_extra=svc.health,
                              description="Pattern analysis: chart patterns: support/resistance, breakouts, trends, double tops")
