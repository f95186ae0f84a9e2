"""The exchange session calendar (exchange_calendars 'XNYS'), loaded once and cached.

Equities trade only inside sessions (regular hours, holidays and half days from the calendar);
crypto pairs trade around the clock, so their "session" is the UTC day.
"""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from shared.errors import ValidationError
from shared.market.calendar_cache import load_schedule

_lock = threading.Lock()
_cache: dict[str, MarketCalendar] = {}


def to_utc(value: datetime | date | str | pd.Timestamp) -> pd.Timestamp:
    """Return ``value`` as a tz-aware UTC ``Timestamp`` (naive values are taken as UTC).

    Raises:
        ValidationError: when the value cannot be read as a date or time.
    """
    try:
        ts = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ValidationError(f"not a date or time: {value!r} ({exc})", field="time") from None
    if ts is pd.NaT:
        raise ValidationError(f"not a date or time: {value!r}", field="time")
    return ts.tz_localize("UTC") if ts.tzinfo is None else ts.tz_convert("UTC")


CALENDAR_START = "1990-01-02"


class MarketCalendar:
    """Session opens and closes of one exchange as fast numpy lookups."""

    def __init__(self, name: str = "XNYS") -> None:
        self.name = name
        # exchange_calendars' default window is only the last 20 years; real daily histories
        # (e.g. the bundled GOOG 2004-2013) need sessions from further back.  Built by
        # exchange_calendars once a day per machine, then loaded (see calendar_cache).
        sessions, opens, closes = load_schedule(name, CALENDAR_START)
        self.sessions = pd.DatetimeIndex(sessions.astype("datetime64[ns]"))  # naive labels
        self.opens = pd.DatetimeIndex(opens.astype("datetime64[ns]"), name="open").tz_localize("UTC")
        self.closes = pd.DatetimeIndex(closes.astype("datetime64[ns]"), name="close").tz_localize("UTC")
        self._open_ns = self.opens.as_unit("ns").asi8
        self._close_ns = self.closes.as_unit("ns").asi8
        self.first_session = self.sessions[0].date()
        self.last_session = self.sessions[-1].date()

    # -- sessions -----------------------------------------------------------------------
    def _index(self, session: date | str | pd.Timestamp) -> int:
        ts = pd.Timestamp(session)
        label = (ts.tz_convert("America/New_York").tz_localize(None) if ts.tzinfo else ts).normalize()
        i = int(self.sessions.searchsorted(label))
        if i >= len(self.sessions) or self.sessions[i] != label:
            raise ValidationError(f"{label.date()} is not a {self.name} session", field="session")
        return i

    def is_session(self, day: date | str) -> bool:
        try:
            self._index(day)
            return True
        except ValidationError:
            return False

    def session_bounds(self, session: date | str | pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
        """Return the (open, close) UTC timestamps of ``session``."""
        i = self._index(session)
        return self.opens[i], self.closes[i]

    def sessions_in_range(self, start: object, end: object) -> pd.DatetimeIndex:
        """Return the session labels whose trading hours overlap ``[start, end]``."""
        s, e = to_utc(start).value, to_utc(end).value
        lo = int(np.searchsorted(self._close_ns, s, side="right"))
        hi = int(np.searchsorted(self._open_ns, e, side="right"))
        return self.sessions[lo:hi]

    def session_minutes(self, session: date | str | pd.Timestamp) -> pd.DatetimeIndex:
        """Return the open times of every one-minute bar of ``session`` (390, or 210 on half days)."""
        o, c = self.session_bounds(session)
        return _minutes(o.value, c.value)

    def minutes_in_range(self, start: object, end: object) -> pd.DatetimeIndex:
        """Return every one-minute bar open time inside sessions within ``[start, end]``."""
        s, e = to_utc(start), to_utc(end)
        parts = [self.session_minutes(d) for d in self.sessions_in_range(s, e)]
        if not parts:
            return pd.DatetimeIndex([], tz="UTC")
        idx = parts[0].append(parts[1:]) if len(parts) > 1 else parts[0]
        return idx[(idx >= s) & (idx <= e)]

    def session_of(self, ts: object) -> pd.Timestamp | None:
        """Return the label of the session whose hours contain ``ts`` (open <= ts < close)."""
        v = to_utc(ts).value
        i = int(np.searchsorted(self._open_ns, v, side="right")) - 1
        if i >= 0 and v < self._close_ns[i]:
            return self.sessions[i]
        return None

    def session_close_for(self, ts_ns: np.ndarray) -> np.ndarray:
        """Return, per bar open time (int64 ns), the close of its session (or -1 outside one)."""
        i = np.searchsorted(self._open_ns, ts_ns, side="right") - 1
        ok = i >= 0
        j = np.where(ok, i, 0)
        inside = ok & (ts_ns < self._close_ns[j])
        return np.where(inside, self._close_ns[j], -1)

    def session_open_for(self, ts_ns: np.ndarray) -> np.ndarray:
        """Return, per time (int64 ns), the open of the session containing it (or -1)."""
        i = np.searchsorted(self._open_ns, ts_ns, side="right") - 1
        ok = i >= 0
        j = np.where(ok, i, 0)
        inside = ok & (ts_ns < self._close_ns[j])
        return np.where(inside, self._open_ns[j], -1)

    def is_open(self, ts: object) -> bool:
        return self.session_of(ts) is not None

    def next_open(self, ts: object) -> pd.Timestamp:
        """Return the first session open strictly after ``ts``."""
        v = to_utc(ts).value
        i = int(np.searchsorted(self._open_ns, v, side="right"))
        if i >= len(self.opens):
            raise ValidationError(f"{ts} is past the calendar's last session", field="time")
        return self.opens[i]

    def next_close(self, ts: object) -> pd.Timestamp:
        """Return the first session close strictly after ``ts``."""
        v = to_utc(ts).value
        i = int(np.searchsorted(self._close_ns, v, side="right"))
        if i >= len(self.closes):
            raise ValidationError(f"{ts} is past the calendar's last session", field="time")
        return self.closes[i]

    def previous_close(self, ts: object) -> pd.Timestamp | None:
        """Return the last session close at or before ``ts``."""
        v = to_utc(ts).value
        i = int(np.searchsorted(self._close_ns, v, side="right")) - 1
        return self.closes[i] if i >= 0 else None

    def session_ordinal(self, session: object) -> int:
        return self._index(session)  # type: ignore[arg-type]

    def is_half_day(self, session: object) -> bool:
        o, c = self.session_bounds(session)  # type: ignore[arg-type]
        return (c - o) < pd.Timedelta(hours=6)


@lru_cache(maxsize=256)
def _minutes(open_ns: int, close_ns: int) -> pd.DatetimeIndex:
    return pd.date_range(pd.Timestamp(open_ns, tz="UTC"), pd.Timestamp(close_ns, tz="UTC"),
                         freq="1min", inclusive="left")


def get_calendar(name: str = "XNYS") -> MarketCalendar:
    """Return the process's cached calendar (built on first use, then shared)."""
    cal = _cache.get(name)
    if cal is None:
        with _lock:
            cal = _cache.get(name)
            if cal is None:
                cal = MarketCalendar(name)
                _cache[name] = cal
    return cal


def utc_day_bounds(day: date | str | pd.Timestamp) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return the (start, end) of a UTC day: the crypto "session"."""
    d = pd.Timestamp(day).normalize()
    d = d.tz_localize("UTC") if d.tzinfo is None else d.tz_convert("UTC")
    return d, d + pd.Timedelta(days=1)


def utc_now() -> datetime:
    return datetime.now(UTC)


ONE_MINUTE = timedelta(minutes=1)
