"""What of a requested range a cache lacks: ``missing_ranges``, sessions respected.

A cache records the spans it has fetched (``[start, end)`` pairs).  The parts of a request
outside them are missing, except where the market holds no bar: nights, weekends and holidays
of an equity's calendar are never missing (crypto, with no calendar, trades around the clock).
Each missing part is trimmed to where bars can open, so a provider is asked only for those.
"""
from __future__ import annotations

from collections.abc import Iterable

import pandas as pd

from shared.market.calendar import MarketCalendar, to_utc
from shared.market.timeframes import parse_timeframe

Span = tuple[pd.Timestamp, pd.Timestamp]


def merge_spans(spans: Iterable[tuple[object, object]]) -> list[Span]:
    """Return the spans as UTC times, sorted, touching or overlapping ones joined, empty dropped."""
    out: list[Span] = []
    for a, b in sorted((to_utc(a), to_utc(b)) for a, b in spans):
        if b <= a:
            continue
        if out and a <= out[-1][1]:
            out[-1] = (out[-1][0], max(out[-1][1], b))
        else:
            out.append((a, b))
    return out


def subtract(start: object, end: object, covered: Iterable[tuple[object, object]]) -> list[Span]:
    """Return the parts of ``[start, end)`` outside every covered span (calendar ignored)."""
    s, e = to_utc(start), to_utc(end)
    gaps, cur = [], s
    for a, b in merge_spans(covered):
        if b <= cur or a >= e:
            continue
        if a > cur:
            gaps.append((cur, a))
        cur = max(cur, b)
    if cur < e:
        gaps.append((cur, e))
    return gaps


def clip(spans: Iterable[tuple[object, object]], start: object, end: object) -> list[Span]:
    """Return the merged spans cut to ``[start, end)`` (those outside it dropped)."""
    s, e = to_utc(start), to_utc(end)
    return [(max(a, s), min(b, e)) for a, b in merge_spans(spans) if b > s and a < e]


def missing_ranges(covered: Iterable[tuple[object, object]], start: object, end: object,
                   calendar: MarketCalendar | None, timeframe: str = "1m") -> list[Span]:
    """Return the parts of ``[start, end)`` a provider must be asked for.

    ``covered`` are the spans already fetched; ``calendar`` is the equity's session calendar,
    or None for an instrument trading around the clock (crypto).  With a calendar a part
    holding no ``timeframe`` bar (a night, a weekend, a holiday, after a half day's close) is
    left out and the others are trimmed to their first bar's open and last session's close.
    The result is sorted and disjoint.

    Raises:
        ValidationError: a time that cannot be read, or an unknown timeframe.
    """
    tf = parse_timeframe(timeframe)
    gaps = subtract(start, end, covered)
    if calendar is None:
        return gaps
    out = []
    for a, b in gaps:
        sessions = calendar.sessions_with_bars(a, b, tf)
        if len(sessions) == 0:
            continue
        if tf.is_daily:
            first = calendar.session_stamp(sessions[0])
        else:
            first = calendar.session_bounds(sessions[0])[0].floor(f"{tf.minutes}min")
        last_close = calendar.session_bounds(sessions[-1])[1]
        lo, hi = max(a, first), min(b, last_close)
        if lo < hi:
            out.append((lo, hi))
    return out


__all__ = ["Span", "clip", "merge_spans", "missing_ranges", "subtract"]
