"""Technical analysis service: indicators (TA-Lib) and strategy signals."""
from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the web stack is imported by create_app only: the backtester imports
    from flask import Flask  # this package's pure domain without loading Flask

    from shared.config import Settings

NAME = "technical_analysis"


def create_app(settings: Settings | None = None, *, market: object = None) -> Flask:
    """Return the Technical analysis service's Flask app.

    Raises:
        ConfigError: a bad strategy or indicator in the ``technical`` settings.
    """
    from services.technical_analysis.api import blueprints
    from services.technical_analysis.service import TechnicalAnalysisService
    from shared.config import load_settings
    from shared.db import get_database
    from shared.web import create_service_app

    settings = settings or load_settings()
    db = get_database(settings)
    service = TechnicalAnalysisService(settings, db, market=market)

    def health_extra() -> dict[str, object]:
        service.admin.sync()  # the strategies this process runs from its next analysis
        return {"strategies": [s.name for s in service.strategies],
                "strategies_version": service.admin.version,
                "cached_series": len(service._cache),
                "cached_mb": round(service._cache.currsize / (1 << 20), 2)}

    return create_service_app(NAME, settings, blueprints=blueprints(), service=service,
                              database=db, health_extra=health_extra,
                              description="Technical analysis: indicators (TA-Lib) and strategy signals")
