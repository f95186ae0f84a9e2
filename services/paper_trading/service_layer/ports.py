"""What the use cases need of the broker that runs them, as protocols.

The use cases (``portfolio``, ``account_config``, ``watchlists``, ``activities``,
``portfolio_history``) depend on these, not on ``PaperTradingService``: a unit of work that
hands out the connection of one ``BEGIN IMMEDIATE`` transaction (repositories are built on
it per account), the clock, the calendar and the settings.  ``PaperTradingService`` provides
them; tests may pass anything that does.
"""
from __future__ import annotations

import sqlite3
from contextlib import AbstractContextManager
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from services.paper_trading.service_layer.accounts import AccountDirectory
    from shared.config_sections.paper_trading import Section
    from shared.market.calendar import MarketCalendar
    from shared.trading.records import OrderRecord
    from shared.trading.schemas import OrderRequest
    from shared.trading.sessions import SessionClock


class UnitOfWork(Protocol):
    """One write transaction: rolled back unless ``commit`` was called."""

    conn: sqlite3.Connection

    def commit(self) -> None: ...


class PaperContext(Protocol):
    """The clock, calendar, settings and units of work the use cases run with."""

    cfg: Section
    cal: MarketCalendar
    sessions: SessionClock
    accounts: AccountDirectory

    def now(self) -> datetime: ...

    def get_db_connection(self) -> sqlite3.Connection: ...

    def write_uow(self, label: str, *, books: bool = True) -> AbstractContextManager[UnitOfWork]: ...

    def ensure_accounts(self) -> None: ...


class TradingHost(PaperContext, Protocol):
    """A ``PaperContext`` that also takes orders (what closing a position needs)."""

    def submit_order(self, req: OrderRequest, *, account: int = 1) -> OrderRecord: ...

    def cancel_all(self, *, account: int = 1) -> list[OrderRecord]: ...

    def account_snapshot(self, *, account: int = 1) -> Any: ...

    def positions(self, *, account: int = 1) -> list[Any]: ...

    def position(self, symbol_or_id: str, *, account: int = 1) -> Any: ...

    def close_position(self, symbol_or_id: str, qty: Decimal | None = None,
                       percentage: Decimal | None = None, *, account: int = 1) -> OrderRecord: ...


__all__ = ["PaperContext", "TradingHost", "UnitOfWork"]
