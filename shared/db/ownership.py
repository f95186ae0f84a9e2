"""Which service owns (alone writes) which tables, where the database enforces it.

The market tables belong to coordination's market feed (``shared.market.feed``): every other
service's ``Database`` is ``protect``-ed against writing them, so SQLite refuses such a write.
"""
from __future__ import annotations

MARKET_OWNER = "coordination"
#: Tables only the market-data owner writes; every other process gets them read-only.
MARKET_TABLES = ("bars", "bar_coverage", "bar_rejects", "market_ingest_log", "symbols",
                 "market_feed", "market_clock")

__all__ = ["MARKET_OWNER", "MARKET_TABLES"]
