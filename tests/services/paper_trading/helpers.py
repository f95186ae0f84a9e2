"""Test helpers: a settable clock and hand-built one-minute bars written to the real table."""
from __future__ import annotations

from collections.abc import Iterable
from datetime import UTC, datetime, timedelta
from decimal import Decimal

from shared.db import Database
from shared.domain.money import to_micros

UTC = UTC
OPEN = datetime(2024, 1, 2, 14, 30, tzinfo=UTC)  # XNYS session open, 2024-01-02
CLOSE = datetime(2024, 1, 2, 21, 0, tzinfo=UTC)


class Clock:
    """A market clock the test moves by hand."""

    def __init__(self, t: datetime = OPEN) -> None:
        self.t = t

    def __call__(self) -> datetime:
        return self.t

    def advance(self, minutes: float = 1) -> datetime:
        self.t += timedelta(minutes=minutes)
        return self.t


def seed_bars(db: Database, symbol: str, start: datetime,
              bars: Iterable[tuple[object, object, object, object] | tuple[object, ...]]) -> None:
    """Write consecutive one-minute bars (open, high, low, close[, volume]) from ``start``."""
    rows = []
    for i, b in enumerate(bars):
        o, h, lo, c = (Decimal(str(x)) for x in b[:4])
        vol = int(b[4]) if len(b) > 4 else 1_000_000
        ts = (start + timedelta(minutes=i)).strftime("%Y-%m-%dT%H:%M:%S+00:00")
        rows.append((symbol, "1m", ts, to_micros(o), to_micros(h), to_micros(lo), to_micros(c),
                     vol, None, None, "test"))
    db.bulk_insert_with_transaction(
        "bars", rows, ["symbol", "timeframe", "ts", "open_micros", "high_micros", "low_micros",
                       "close_micros", "volume", "vwap_micros", "trade_count", "source"],
        on_conflict="replace")
    # the symbol is in the market, as the owner (coordination's market feed) records it
    db.execute_with_retry(
        "INSERT INTO symbols (symbol, name, sector, asset_class, exchange, source, updated_at) "
        "VALUES (?, ?, 'Test', ?, 'NASDAQ', 'test', '2024-01-01') ON CONFLICT DO NOTHING",
        (symbol, symbol, "crypto" if "/" in symbol else "equity"))


def flat(price: object, n: int) -> list[tuple[object, object, object, object]]:
    return [(price, price, price, price)] * n
