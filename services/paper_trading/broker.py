"""Choose the broker behind the API: the local paper simulator (Alpaca forwarding: not yet)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.config import Settings
from shared.errors import ConfigError


def build_service(settings: Settings, *, now: Callable[[], datetime] | None = None) -> Any:
    """Return the service object for ``paper_trading.broker``.

    Raises:
        ConfigError: for ``broker: alpaca``, whose forwarding mode is not built yet (refusing
            to start beats silently trading on the simulator instead).
    """
    if settings.paper_trading.broker == "alpaca":
        raise ConfigError("paper_trading.broker 'alpaca' (forwarding to Alpaca's paper account) "
                          "is not implemented yet; use 'paper'", field="paper_trading.broker")
    from services.paper_trading.service import PaperTradingService

    return PaperTradingService(settings, now=now)
