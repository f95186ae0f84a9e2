"""How far back the market owner keeps each timeframe's bars, as the analyses must read them.

The owner (coordination's ``MarketFeed``) backfills ``market.ingest.history_days`` calendar
days of each timeframe behind the clock.  The store may hold older bars too, but which ones
depends on timing: the backfill walked from an earlier clock time and was cut short when the
clock jumped (a replay moved to its session), or the clock passed them while the suite ran.
An analysis that read past the owner's depth saw some of those bars in one run and not in
another, with holes between them and the backfilled history, so the same clock time gave
different indicators (the PostgreSQL session replay traded differently beside two bots,
issue 21).  The analyses (technical analysis, the scanner, chart and candlestick patterns)
therefore start their windows no earlier than ``history_floor``: every bar from there to the
clock is one the owner stores whatever happened before.

Only windows an analysis derives from the clock are cut, never a range a caller asked for.
"""
from __future__ import annotations

from typing import Any

import pandas as pd

from shared.errors import ValidationError
from shared.market.resample import next_bucket_start
from shared.market.timeframes import parse_timeframe

NEW_YORK = "America/New_York"


def history_floor(cal: Any, timeframe: str, now: pd.Timestamp, days: int) -> pd.Timestamp:
    """Return the earliest bar open of ``timeframe`` that ``days`` of history behind ``now``
    guarantee stored: the first session opening at or after ``now - days`` (for daily bars,
    the stamp of the first session dated on or after that New York date), or the session
    before the last one opened at ``now`` when that is earlier.

    The owner stores a session when its open is at most ``days`` before the clock time it
    backfilled from, and that time is never after ``now``: so each session from the floor on
    is stored.  Whatever ``days``, it stores the whole session before the one it started in
    (its first job), and every session the clock then passes.  Past the calendar's last
    session the floor is ``now`` (nothing older).
    """
    since = now - pd.Timedelta(days=days)
    last = int(cal.opens.searchsorted(now, side="right")) - 1  # the last session opened
    if parse_timeframe(timeframe).is_daily:
        day = since.tz_convert(NEW_YORK).tz_localize(None).normalize()
        i = min(int(cal.sessions.searchsorted(day)), max(last - 1, 0))
        stamps = cal.session_stamps_ns()
        return pd.Timestamp(int(stamps[i]), tz="UTC") if i < len(stamps) else now
    i = min(int(cal.opens.searchsorted(since)), max(last - 1, 0))
    return cal.opens[i] if i < len(cal.opens) else now


def history_start(reader: Any, timeframe: str, now: pd.Timestamp | None = None
                  ) -> pd.Timestamp | None:
    """Return ``reader``'s floor for ``timeframe`` at ``now`` (default: its clock), or None
    when it has none (the owner itself, which fills any hole it reads; a test's reader)."""
    fn = getattr(reader, "history_start", None)
    return fn(timeframe, now) if callable(fn) else None


def within_history(reader: Any, timeframe: str, start: pd.Timestamp,
                   now: pd.Timestamp | None = None) -> pd.Timestamp:
    """Return ``start`` moved up to ``reader``'s floor for ``timeframe`` when it is earlier."""
    floor = history_start(reader, timeframe, now)
    return start if floor is None or start >= floor else floor


def bars_skipped(seen_ns: int, first_ns: int, timeframe: str, cal: Any, *,
                 crypto: bool = False) -> bool:
    """Return whether a bar of ``timeframe`` can open between the bar opening at ``seen_ns``
    (the last one a keeper analysed) and ``first_ns`` (the first of its new window): the
    clock jumped past bars, so what was followed bar by bar cannot be followed on.  A night,
    a weekend or a holiday between the two skips nothing."""
    if first_ns <= seen_ns:
        return False
    try:
        return first_ns > next_bucket_start(seen_ns, timeframe, cal, crypto)
    except ValidationError:  # past the calendar's end: nothing to compare with
        return False


__all__ = ["bars_skipped", "history_floor", "history_start", "within_history"]
