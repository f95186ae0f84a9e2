"""Paper trading service: orders, fills, positions, account, risk; an Alpaca-compatible /v2 API."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # the web stack is imported by create_app only: the backtester imports
    from flask import Flask  # this package's pure domain without loading Flask

    from shared.config import Settings

NAME = "paper_trading"
#: Alpaca's error body, documented in /openapi.json for the /v2 and /v1beta1 routes.
ALPACA_ERROR_SCHEMA = {"type": "object", "required": ["code", "message"],
                       "properties": {"code": {"type": "integer"}, "message": {"type": "string"},
                                      "reason": {"type": "string"}, "field": {"type": "string"}}}


def create_app(settings: Settings | None = None, *,
               now: Callable[[], datetime] | None = None) -> Flask:
    """Return the Paper trading service's Flask app (``now`` overrides the market clock)."""
    from services.paper_trading.entrypoints import alpaca_api, api, market_runs_api
    from services.paper_trading.entrypoints.alpaca_api import alpaca_error, check_alpaca_key
    from services.paper_trading.service_layer.broker import build_service
    from shared.config import load_settings
    from shared.web import create_service_app

    settings = settings or load_settings()
    service = build_service(settings, now=now)
    return create_service_app(
        NAME, settings, blueprints=[*api.blueprints(), market_runs_api.blueprint(),
                         *alpaca_api.blueprints()], service=service,
        database=service.db,
        description="Paper trading: orders, fills, positions, account, risk; "
                    "an Alpaca-compatible /v2 API",
        error_formatters={"/v2": alpaca_error, "/v1beta1": alpaca_error,
                          "/v1beta3": alpaca_error},
        auth_overrides={"/v2": check_alpaca_key, "/v1beta1": check_alpaca_key,
                        "/v1beta3": check_alpaca_key},
        raw_prefixes={"/v2": ALPACA_ERROR_SCHEMA, "/v1beta1": ALPACA_ERROR_SCHEMA,
                      "/v1beta3": ALPACA_ERROR_SCHEMA},
        health_extra=lambda: {"broker": settings.paper_trading.broker})
