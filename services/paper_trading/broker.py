"""Choose the broker behind the API: the local paper simulator, or Alpaca's paper account."""
from __future__ import annotations

from datetime import datetime
from typing import Any, Callable

from shared.config import Settings


def build_service(settings: Settings, *, now: Callable[[], datetime] | None = None) -> Any:
    """Return the service object for ``paper_trading.broker`` (alpaca needs keys set)."""
    from services.paper_trading.service import PaperTradingService

    return PaperTradingService(settings, now=now)
