"""Scanning the crypto pairs: they trade around the clock, so their sessions are UTC days and
their windows of bars follow the clock at any hour, weekends and holidays included.

The scanner's ``WindowBars`` skips a read when the equity calendar says no bar can have closed
since the last one (a weekend, a night); for a pair that is wrong.  Its windows therefore see
the data manager without a calendar, and then read whatever closed since their last bar: a
cheap read for a handful of pairs.
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from services.scanner.bar_cache import WindowBars
from shared.ta.sessions import SessionRules

ASSET_CLASSES = ("equity", "crypto")


class _AroundTheClock:
    """The data manager seen without its (equity) calendar."""

    calendar = None

    def __init__(self, market: Any) -> None:
        self._market = market

    def __getattr__(self, name: str) -> Any:
        return getattr(self._market, name)


def crypto_windows(market: Callable[[], Any], timeframe: str) -> tuple[WindowBars, WindowBars]:
    """Return the (intraday ``timeframe``, daily) windows of the pairs."""
    def view() -> _AroundTheClock:
        return _AroundTheClock(market())

    return WindowBars(view, timeframe), WindowBars(view, "1d")


def rules_for(asset_class: str) -> SessionRules:
    """Return the session rules of a panel of ``asset_class`` (a pair's day is the UTC day)."""
    return SessionRules.crypto() if asset_class == "crypto" else SessionRules()


__all__ = ["ASSET_CLASSES", "crypto_windows", "rules_for"]
