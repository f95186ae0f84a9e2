"""Choose the broker behind the API: the local paper simulator, or Alpaca's paper account."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from shared.config import Settings


def build_service(settings: Settings, *, now: Callable[[], datetime] | None = None) -> Any:
    """Return the service object for ``paper_trading.broker``.

    ``paper`` (the default) is the simulator; ``alpaca`` forwards account, orders, positions,
    clock and calendar to Alpaca through alpaca-py (see ``alpaca_broker``).

    Raises:
        ConfigError: for ``alpaca`` without ``alpaca.api_key`` and ``alpaca.secret_key``
            (refusing to start beats silently trading on the simulator instead).
    """
    if settings.paper_trading.broker == "alpaca":
        from services.paper_trading.alpaca_broker import AlpacaBrokerService

        return AlpacaBrokerService(settings, now=now)
    from services.paper_trading.service import PaperTradingService

    return PaperTradingService(settings, now=now)
