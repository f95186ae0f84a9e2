"""Calendar facts of the clock's current period, computed once per session (or gap) and reused.

Every order submission and account read needs the same few facts about "now": the session in
progress (if any), its close, the next close, the previous close and the first of the last five
sessions.  They are constant between one session boundary and the next, while the pandas-backed
calendar lookups behind them cost tens of microseconds each, so ``SessionClock`` answers from
the period it computed last as long as ``now`` stays inside it.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

import numpy as np

from shared.market.calendar import MarketCalendar

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
_MIN_NS, _MAX_NS = -(2**63), 2**63 - 1


def to_ns(t: datetime) -> int:
    """Return an aware datetime as integer nanoseconds since the epoch (exact)."""
    return (t - _EPOCH) // timedelta(microseconds=1) * 1000


@dataclass(frozen=True)
class Period:
    """A span ``[start_ns, end_ns)`` of clock time with the same calendar facts."""

    start_ns: int
    end_ns: int
    session: str | None  # label (YYYY-MM-DD) of the session in progress, None between sessions
    close: datetime | None  # that session's close
    next_close: datetime | None  # the first close strictly after any time of the period
    previous_close: datetime | None  # the last close at or before any time of the period
    five_start: str  # label of the earliest of the last five sessions up to now

    def minutes_to_close(self, now: datetime) -> float | None:
        return None if self.close is None else (self.close - now).total_seconds() / 60


class SessionClock:
    """``period(now)`` over one calendar; thread-safe (the cached period is swapped whole)."""

    def __init__(self, cal: MarketCalendar) -> None:
        self.cal = cal
        self._open = np.asarray(cal.opens.as_unit("ns").asi8)
        self._close = np.asarray(cal.closes.as_unit("ns").asi8)
        self._labels = [d.date().isoformat() for d in cal.sessions]
        self._last: Period | None = None

    def _dt(self, ns: int) -> datetime:
        return _EPOCH + timedelta(microseconds=int(ns) // 1000)

    def period(self, now: datetime) -> Period:
        """Return the calendar facts that hold at ``now``."""
        v = to_ns(now)
        p = self._last
        if p is not None and p.start_ns <= v < p.end_ns:
            return p
        i = int(np.searchsorted(self._open, v, side="right")) - 1  # last open at or before now
        n = len(self._open)
        if i >= 0 and v < self._close[i]:  # inside session i
            p = Period(int(self._open[i]), int(self._close[i]), self._labels[i],
                       self._dt(self._close[i]), self._dt(self._close[i]),
                       self._dt(self._close[i - 1]) if i > 0 else None,
                       self._labels[max(i - 4, 0)])
        else:  # between session i (maybe none) and session i + 1 (maybe none)
            start = int(self._close[i]) if i >= 0 else _MIN_NS
            end = int(self._open[i + 1]) if i + 1 < n else _MAX_NS
            p = Period(start, end, None, None,
                       self._dt(self._close[i + 1]) if i + 1 < n else None,
                       self._dt(self._close[i]) if i >= 0 else None,
                       self._labels[max(i - 4, 0)] if i >= 0 else now.date().isoformat())
        self._last = p
        return p


__all__ = ["Period", "SessionClock", "to_ns"]
