"""The one typed interface through which services read bars: ``BarReader``.

``shared.market.manager.DataManager`` is the reader every service gets in production; tests and
tools may pass anything with the same members.  Bars come back as ``BarArrays`` (columns,
dtypes and read-only-ness are documented there), holding only bars the market clock has made
visible unless ``as_of`` says otherwise.  The protocol holds only what the services call: one
symbol's bars, many symbols' bars in one read, and the market clock's "now".
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Protocol, runtime_checkable

if TYPE_CHECKING:
    from datetime import datetime

    import pandas as pd

    from shared.errors import AppError
    from shared.market.frames import BarArrays


@runtime_checkable
class ClockView(Protocol):
    """The part of the market clock readers use: "now", never the wall clock's."""

    def now(self) -> datetime:
        """Return the market clock's now (timezone-aware UTC)."""
        ...

    def now_ts(self) -> pd.Timestamp:
        """Return ``now`` as a UTC ``pd.Timestamp``."""
        ...


@runtime_checkable
class BarReader(Protocol):
    """Visible bars of one or many symbols, and the market clock they are visible at.

    ``start``/``end`` bound the bars' open times (``[start, end)``, anything ``to_utc``
    takes); ``start_hours_ago`` counts back from the cutoff instead; ``as_of`` replaces the
    clock's "now" as the visibility cutoff.
    """

    @property
    def clock(self) -> ClockView:
        """Return the market clock."""
        ...

    def get_bars(self, symbol: str, timeframe: str = "1m", start: object = None,
                 end: object = None, *, start_hours_ago: float | None = None,
                 as_of: object = None) -> BarArrays:
        """Return one symbol's visible bars.

        Raises:
            ValidationError: a bad symbol, timeframe or range.
            NotFound: a symbol outside the market's universe.
        """
        ...

    def get_bars_many(self, symbols: list[str] | tuple[str, ...], timeframe: str = "1m",
                      start: object = None, end: object = None, *,
                      start_hours_ago: float | None = None, as_of: object = None,
                      errors: dict[str, AppError] | None = None,
                      cache: bool = True) -> dict[str, BarArrays]:
        """Return many symbols' visible bars by normalised symbol, read in one batch.

        Symbols that fail go to ``errors`` when it is given and are left out; without it the
        first failure is raised.  ``cache=False`` is for callers that keep what they read
        (the reader's own cache would pin the same arrays a second time).

        Raises:
            ValidationError: a bad symbol, timeframe or range.
            ServiceUnavailable: a symbol no provider could serve (without ``errors``).
        """
        ...




def history_epoch(reader: object) -> int:
    """Return the market owner's history epoch as ``reader`` sees it (0 when it has none).

    The owner backfills history behind the clock after the suite starts; a service that keeps
    bars it read (a window extended bar by bar, a series cache) drops them when this moves,
    so it never serves a window that lacks bars stored since.
    """
    fn = getattr(reader, "history_epoch", None)
    return int(fn()) if callable(fn) else 0


__all__ = ["BarReader", "ClockView", "history_epoch"]
