"""Lazy access to the process's data manager and the market clock, for service adapters."""
from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

if TYPE_CHECKING:
    from shared.config import Settings
    from shared.market.manager import DataManager


class MarketAccess:
    """Base of the adapters through which a service reads bars: the data manager is created on
    first use (never at import or construction), and "now" is always the market clock's."""

    def __init__(self, settings: Settings, dm: DataManager | None = None) -> None:
        self.settings = settings
        self._dm = dm

    def _market(self) -> DataManager:
        if self._dm is None:
            from shared.market.manager import get_data_manager

            self._dm = get_data_manager(self.settings)
        return self._dm

    def now(self) -> pd.Timestamp:
        """Return the market clock's now (UTC)."""
        return self._market().clock.now_ts()
