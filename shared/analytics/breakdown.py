"""Trade figures broken down by strategy, symbol, side, time of day or pattern."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import pandas as pd

from shared.analytics.metrics import trade_stats
from shared.analytics.models import RoundTrip

GROUPS = ("strategy", "symbol", "side", "time_of_day", "pattern")
NONE_LABEL = "(none)"


def time_of_day_label(trip: RoundTrip, tz: str, bucket_minutes: int) -> str:
    """Return the start of the ``bucket_minutes`` bucket of the trip's entry, in ``tz`` (HH:MM)."""
    local = pd.Timestamp(trip.entry_time).tz_convert(tz)
    minute = (local.hour * 60 + local.minute) // bucket_minutes * bucket_minutes
    return f"{minute // 60:02d}:{minute % 60:02d}"


def key_function(group_by: str, tz: str = "America/New_York",
                 bucket_minutes: int = 30) -> Callable[[RoundTrip], str]:
    """Return the function naming a trip's group.

    Raises:
        ValueError: for a ``group_by`` not in ``GROUPS``.
    """
    if group_by == "time_of_day":
        return lambda t: time_of_day_label(t, tz, bucket_minutes)
    if group_by not in GROUPS:
        raise ValueError(f"group_by must be one of {list(GROUPS)}, was {group_by!r}")
    return lambda t: getattr(t, group_by) or NONE_LABEL


def breakdown(trades: Sequence[RoundTrip], group_by: str, *, tz: str = "America/New_York",
              bucket_minutes: int = 30) -> dict[str, dict[str, Any]]:
    """Return ``{group: trade_stats}`` for the trips in each group, groups sorted by name.

    Equity-curve figures (Sharpe, drawdown...) belong to the whole account and are not split.

    Raises:
        ValueError: for an unknown ``group_by``.
    """
    key = key_function(group_by, tz, bucket_minutes)
    groups: dict[str, list[RoundTrip]] = {}
    for t in trades:
        groups.setdefault(key(t), []).append(t)
    return {name: trade_stats(groups[name]) for name in sorted(groups)}
