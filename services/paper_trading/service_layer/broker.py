"""The broker behind the API, as one protocol, and the choice of implementation: the local
paper simulator (``service.PaperTradingService``) or Alpaca's own paper account
(``alpaca_broker.AlpacaBrokerService``).  The entry points (``/api/v1``, ``/v2``, the CLI)
call only what ``Broker`` lists."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any, Protocol, runtime_checkable

from shared.config import Settings

if TYPE_CHECKING:
    from services.paper_trading.service_layer.snapshot import PricedPosition, Snapshot
    from shared.trading.records import OrderRecord
    from shared.trading.schemas import OrderRequest, ReplaceRequest


@runtime_checkable
class Broker(Protocol):
    """Orders, positions and the account, per paper account (``account``; 1 is the
    automation's).  Raises the suite's errors (``shared.errors``): NotFound, 403 rejections,
    422 for orders Alpaca refuses."""

    cfg: Any
    accounts: Any

    def now(self) -> datetime: ...

    def maybe_process(self) -> None: ...

    def process_until(self, now: datetime | None = None) -> dict[str, int]: ...

    def submit_order(self, req: OrderRequest, *, account: int = 1) -> OrderRecord: ...

    def get_order(self, order_id: str, *, account: int = 1) -> OrderRecord: ...

    def get_order_by_client_id(self, cid: str, *, account: int = 1) -> OrderRecord: ...

    def order_events(self, order_id: str, *, account: int = 1) -> list[dict[str, Any]]: ...

    def list_orders(self, *, status: str = "open", limit: int = 50, after: str | None = None,
                    until: str | None = None, direction: str = "desc", side: str | None = None,
                    symbols: list[str] | None = None, account: int = 1,
                    nested: bool = True) -> list[OrderRecord]: ...

    def cancel_order(self, order_id: str, *, account: int = 1) -> OrderRecord: ...

    def cancel_all(self, *, account: int = 1) -> list[OrderRecord]: ...

    def replace_order(self, order_id: str, req: ReplaceRequest, *,
                      account: int = 1) -> OrderRecord: ...

    def account_snapshot(self, *, account: int = 1) -> Snapshot: ...

    def positions(self, *, account: int = 1) -> list[PricedPosition]: ...

    def position(self, symbol_or_id: str, *, account: int = 1) -> PricedPosition: ...

    def close_position(self, symbol_or_id: str, qty: Decimal | None = None,
                       percentage: Decimal | None = None, *, account: int = 1) -> OrderRecord: ...

    def close_all_positions(self, cancel_orders: bool = False, *,
                            account: int = 1) -> list[tuple[str, Any]]: ...

    def clock_view(self) -> dict[str, Any]: ...

    def calendar_view(self, start: str | None, end: str | None) -> list[dict[str, Any]]: ...

    def reset(self, starting_cash: Decimal | None = None, *, account: int = 1) -> Snapshot: ...

    def fills(self, limit: int = 100, symbol: str | None = None, order_id: str | None = None,
              *, account: int = 1) -> list[dict[str, Any]]: ...

    def ledger(self, limit: int = 100, before_id: int | None = None, *,
               account: int = 1) -> list[dict[str, Any]]: ...

    def risk_state(self, *, account: int = 1) -> dict[str, Any]: ...

    def invariants(self, *, account: int = 1) -> dict[str, Any]: ...


def build_service(settings: Settings, *, now: Callable[[], datetime] | None = None) -> Broker:
    """Return the service object for ``paper_trading.broker``.

    ``paper`` (the default) is the simulator; ``alpaca`` forwards account, orders, positions,
    clock and calendar to Alpaca through alpaca-py (see ``alpaca_broker``).

    Raises:
        ConfigError: for ``alpaca`` without ``alpaca.api_key`` and ``alpaca.secret_key``
            (refusing to start beats silently trading on the simulator instead).
    """
    if settings.paper_trading.broker == "alpaca":
        from services.paper_trading.service_layer.alpaca_broker import AlpacaBrokerService

        return AlpacaBrokerService(settings, now=now)
    from services.paper_trading.service_layer.service import PaperTradingService

    return PaperTradingService(settings, now=now)
