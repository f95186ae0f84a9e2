"""Fundamentals: the record's fields, the built-in market's values, the per-provider file
cache, the combiner and the cache-first reader that puts them together.

    from shared.market.fundamentals import build_fundamentals
    build_fundamentals(settings, writable=True).get("AAPL")
"""
from shared.market.fundamentals.build import build_fundamentals
from shared.market.fundamentals.combine import Combined, combine
from shared.market.fundamentals.fields import FIELDS, NUMBER_FIELDS, normalise
from shared.market.fundamentals.service import Fundamentals
from shared.market.fundamentals.simulated import SimulatedFundamentals
from shared.market.fundamentals.store import Entry, FundamentalsStore

__all__ = ["FIELDS", "NUMBER_FIELDS", "Combined", "Entry", "Fundamentals", "FundamentalsStore",
           "SimulatedFundamentals", "build_fundamentals", "combine", "normalise"]
