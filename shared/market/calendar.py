"""The exchange session calendar (exchange_calendars 'XNYS'), loaded once and cached.

Equities trade only inside sessions (regular hours, holidays and half days from the calendar);
crypto pairs trade around the clock, so their "session" is the UTC day.  Bars are stamped as
Alpaca stamps them: a daily bar at its session's date, 00:00 New York (``session_stamp``), an
hour bar on the clock hour (the 09:00 bar holds 09:30-10:00), so a bar can open before its
session does: ``bar_session_index`` / ``bar_close_for`` find a bar's session from its stamp.
"""
from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta
from functools import lru_cache

import numpy as np
import pandas as pd

from shared.errors import ValidationError
from shared.market.calendar_cache import load_schedule
from shared.market.timeframes import Timeframe, parse_timeframe

_lock = threading.Lock()
_cache: dict[str, MarketCalendar] = {}
NEW_YORK = "America/New_York"
_MIN_NS = 60_000_000_000


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
        # each session's date at 00:00 New York: the stamp of its daily bar (as Alpaca's)
        self._stamp_ns = self.sessions.tz_localize(NEW_YORK).tz_convert("UTC").as_unit("ns").asi8
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

    def session_stamp(self, session: date | str | pd.Timestamp) -> pd.Timestamp:
        """Return the open time of ``session``'s daily bar: its date at 00:00 New York (UTC).

        Raises:
            ValidationError: when ``session`` is not a session of this calendar.
        """
        return pd.Timestamp(int(self._stamp_ns[self._index(session)]), tz="UTC")

    def session_stamps_ns(self) -> np.ndarray:
        """Return every session's daily-bar stamp (00:00 New York, int64 ns UTC), read-only."""
        out = self._stamp_ns.view()
        out.flags.writeable = False
        return out

    def previous_session_stamp(self, ts: object) -> pd.Timestamp | None:
        """Return the daily-bar stamp of the last session closed at or before ``ts``."""
        v = to_utc(ts).value
        i = int(np.searchsorted(self._close_ns, v, side="right")) - 1
        return pd.Timestamp(int(self._stamp_ns[i]), tz="UTC") if i >= 0 else None

    def next_session_stamp(self, ts: object) -> pd.Timestamp:
        """Return the first daily-bar stamp strictly after ``ts``.

        Raises:
            ValidationError: past the calendar's last session.
        """
        v = to_utc(ts).value
        i = int(np.searchsorted(self._stamp_ns, v, side="right"))
        if i >= len(self._stamp_ns):
            raise ValidationError(f"{ts} is past the calendar's last session", field="time")
        return pd.Timestamp(int(self._stamp_ns[i]), tz="UTC")

    def sessions_in_range(self, start: object, end: object) -> pd.DatetimeIndex:
        """Return the session labels whose trading hours overlap ``[start, end]``."""
        s, e = to_utc(start).value, to_utc(end).value
        lo = int(np.searchsorted(self._close_ns, s, side="right"))
        hi = int(np.searchsorted(self._open_ns, e, side="right"))
        return self.sessions[lo:hi]

    def sessions_with_bars(self, start: object, end: object,
                           timeframe: str | Timeframe) -> pd.DatetimeIndex:
        """Return the labels of the sessions holding a ``timeframe`` bar opening in ``[start, end)``.

        Unlike ``sessions_in_range`` this counts bars stamped before the open: a session's
        daily bar opens at 00:00 New York, its first hour bar at 09:00.
        """
        s, e = to_utc(start).value, to_utc(end).value
        lo = int(np.searchsorted(self._close_ns, s, side="right"))
        hi = int(np.searchsorted(self._first_bar_ns(parse_timeframe(timeframe)), e, side="left"))
        return self.sessions[lo:max(lo, hi)]

    def _first_bar_ns(self, tf: Timeframe) -> np.ndarray:
        """Return the open time of each session's first ``tf`` bar (int64 ns)."""
        if tf.is_daily:
            return self._stamp_ns
        dur = tf.minutes * _MIN_NS
        return self._open_ns - self._open_ns % dur

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

    def _containing(self, ts_ns: np.ndarray) -> np.ndarray:
        """Return, per time (int64 ns), the index of the session with open <= t < close, or -1."""
        ts_ns = np.asarray(ts_ns, dtype="int64")
        i = np.searchsorted(self._open_ns, ts_ns, side="right") - 1
        j = np.maximum(i, 0)
        return np.where((i >= 0) & (ts_ns < self._close_ns[j]), i, -1)

    def session_close_for(self, ts_ns: np.ndarray) -> np.ndarray:
        """Return, per time (int64 ns), the close of the session whose hours contain it (or -1).

        Only ``open <= t < close`` counts: for a bar's stamp use ``bar_close_for``.
        """
        i = self._containing(ts_ns)
        return np.where(i >= 0, self._close_ns[np.maximum(i, 0)], -1)

    def session_open_for(self, ts_ns: np.ndarray) -> np.ndarray:
        """Return, per time (int64 ns), the open of the session whose hours contain it (or -1)."""
        i = self._containing(ts_ns)
        return np.where(i >= 0, self._open_ns[np.maximum(i, 0)], -1)

    def session_stamp_for(self, ts_ns: np.ndarray) -> np.ndarray:
        """Return, per time (int64 ns), the daily-bar stamp (00:00 New York) of the session
        whose hours contain it (or -1)."""
        i = self._containing(ts_ns)
        return np.where(i >= 0, self._stamp_ns[np.maximum(i, 0)], -1)

    def bar_session_index(self, ts_ns: np.ndarray, timeframe: str | Timeframe) -> np.ndarray:
        """Return, per bar open time (int64 ns), the index of the bar's session (or -1).

        A daily bar belongs to the session of its New York date when it opens between that
        date's 00:00 and the session's close (Alpaca's 00:00 New York stamp, or the session's
        open); an intraday bar to the session its span ``[ts, ts + timeframe)`` overlaps, so
        the hour bar stamped 09:00 New York belongs to the session opening at 09:30.
        """
        tf = parse_timeframe(timeframe)
        ts_ns = np.asarray(ts_ns, dtype="int64")
        if tf.is_daily:
            i = np.searchsorted(self._stamp_ns, ts_ns, side="right") - 1
            j = np.maximum(i, 0)
            return np.where((i >= 0) & (ts_ns < self._close_ns[j]), i, -1)
        i = np.searchsorted(self._close_ns, ts_ns, side="right")  # first close after ts
        j = np.minimum(i, len(self._close_ns) - 1)
        ok = (i < len(self._close_ns)) & (ts_ns + tf.minutes * _MIN_NS > self._open_ns[j])
        return np.where(ok, i, -1)

    def bar_close_for(self, ts_ns: np.ndarray, timeframe: str | Timeframe) -> np.ndarray:
        """Return, per bar open time (int64 ns), the close of the bar's session (or -1).

        The session is ``bar_session_index``'s: a daily bar's is that of its date, the 09:00
        hour bar's the one opening at 09:30.
        """
        i = self.bar_session_index(ts_ns, timeframe)
        return np.where(i >= 0, self._close_ns[np.maximum(i, 0)], -1)

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
