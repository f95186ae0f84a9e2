"""Test factories: fills, trips and equity curves for the reporting tests."""
from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.analytics import Fill

T0 = datetime(2024, 3, 4, 14, 30, tzinfo=UTC)  # 09:30 New York


def fill(minute: int, side: str, qty: object, price: object, fee: object = "0", *,
         symbol: str = "AAA", order: str | None = None, strategy: str | None = None,
         fill_id: str | None = None, cash: object | None = None, day: int = 0) -> Fill:
    """Return a fill ``minute`` minutes after the 2024-03-04 open (plus ``day`` days)."""
    return Fill(ts=T0 + timedelta(days=day, minutes=minute), symbol=symbol, side=side,
                qty=Decimal(str(qty)), price=Decimal(str(price)), commission=Decimal(str(fee)),
                order_id=order or f"o-{symbol}-{day}-{minute}-{side}", strategy=strategy,
                fill_id=fill_id, cash=None if cash is None else Decimal(str(cash)))
