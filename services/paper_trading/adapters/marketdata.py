"""Read-only market data for the Alpaca-compatible data routes: bars, trades, quotes,
snapshots and news.

Only bars the market clock has made visible are served (a bar is visible once it has closed).
Bars at every Alpaca timeframe are in ``marketdata_bars``; the trades and quotes synthesized
from the one-minute bars (and the snapshots) in ``marketdata_ticks``, whose docstring gives the
model.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from services.paper_trading.adapters.marketdata_bars import latest_bars, stock_bars
from services.paper_trading.adapters.marketdata_ticks import latest, snapshots, ticks
from shared.db import Database
from shared.market.calendar import to_utc


def news(db: Database, now: datetime, symbols: list[str] | None, start: str | None,
         end: str | None, limit: int, sort: str, include_content: bool,
         page_token: str | None, exclude_contentless: bool = False) -> dict[str, Any]:
    """Return one page of Alpaca's ``/v1beta1/news`` from the news service's table (read-only).

    Only articles published (and known) by the market clock's ``now`` are shown; pages are
    keyed on (created_at, id), so following ``next_page_token`` ends with a null token.

    Raises:
        ValidationError: a bad start/end time or a page token this server did not issue.
    """
    from shared.market.alpaca_news import news_page  # the news area's reader of its table

    return news_page(db, now, symbols=symbols or None,
                     start=None if start is None else to_utc(start),
                     end=None if end is None else to_utc(end), limit=limit, sort=sort,
                     page_token=page_token, include_content=include_content,
                     exclude_contentless=exclude_contentless)


__all__ = ["latest", "latest_bars", "news", "snapshots", "stock_bars", "ticks"]
