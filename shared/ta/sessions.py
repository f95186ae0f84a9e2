"""Session bookkeeping for intraday bars: which session a bar belongs to and where in it.

Bars carry UTC open times (int64 nanoseconds).  Equity sessions are New York calendar days with
regular hours 09:30-16:00 and pre-market from 04:00; crypto trades around the clock, so its
session is the UTC day and it has no pre-market.  Bars are stamped as Alpaca stamps them, so a
bar can open before the hours it holds: the hour bar stamped 09:00 holds 09:30-10:00 and a
daily bar opens at 00:00; a bar counts as regular when its span overlaps the regular hours.
Everything is vectorised over one shared time axis, so a (symbols x bars) panel pays for this
once.
"""
from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import pandas as pd

NS_PER_MIN = 60_000_000_000
_DAY_MIN = 24 * 60


@dataclass(frozen=True)
class SessionRules:
    """Where the regular session and the pre-market sit in local time (minutes from midnight)."""

    timezone: str = "America/New_York"
    open_minute: int = 9 * 60 + 30
    close_minute: int = 16 * 60
    premarket_minute: int = 4 * 60

    @classmethod
    def crypto(cls) -> SessionRules:
        """Return the rules of a market trading 24 hours a day in UTC days (no pre-market)."""
        return cls(timezone="UTC", open_minute=0, close_minute=24 * 60, premarket_minute=0)


@dataclass(frozen=True)
class SessionLayout:
    """Per-bar session facts for one time axis.

    ``session`` numbers the local days 0, 1, 2... in order; ``minute`` is the bar's local
    minute of the day (of its open); ``regular`` flags the bars whose span overlaps the
    regular hours, ``premarket`` those lying wholly inside the pre-market; ``starts`` holds
    the index of each session's first bar.
    """

    session: np.ndarray
    minute: np.ndarray
    regular: np.ndarray
    premarket: np.ndarray
    starts: np.ndarray

    @property
    def n_sessions(self) -> int:
        return int(self.starts.size)


#: New York equity sessions, the default everywhere.
NY = SessionRules()


_memo: dict[tuple[object, ...], tuple[np.ndarray, SessionLayout]] = {}
_memo_lock = threading.Lock()
_MEMO_MAX = 64


def layout(ts_ns: np.ndarray, rules: SessionRules = NY,
           bar_minutes: int | None = None) -> SessionLayout:
    """Return the session layout of ascending UTC bar open times ``ts_ns`` (int64 ns).

    ``bar_minutes`` is the bars' length (1440 for daily bars); by default it is read from
    the bars' times of day (see ``_layout``).  A batch of symbols usually shares one time
    axis, so layouts are memoised on the bytes of the axis: the time-zone conversion costs
    more than a TA-Lib call on 390 bars.

    Raises:
        ValueError: when the times are not strictly ascending.
    """
    ts = np.asarray(ts_ns, dtype="int64")
    key = (rules, bar_minutes, ts.size, hash(ts.tobytes()))
    with _memo_lock:
        hit = _memo.get(key)
    if hit is not None and np.array_equal(hit[0], ts):
        return hit[1]
    out = _layout(ts, rules, bar_minutes)
    with _memo_lock:
        if len(_memo) >= _MEMO_MAX:
            _memo.pop(next(iter(_memo)))
        _memo[key] = (ts.copy(), out)
    return out


def _layout(ts: np.ndarray, rules: SessionRules, bar_minutes: int | None) -> SessionLayout:
    if ts.size > 1 and np.any(np.diff(ts) <= 0):
        raise ValueError("bar times must be strictly ascending")
    local = pd.DatetimeIndex(pd.to_datetime(ts, utc=True)).tz_convert(rules.timezone)
    # Local wall-clock nanoseconds: the UTC value plus this bar's UTC offset (DST-aware).
    offset = np.asarray(local.tz_localize(None).asi8, dtype="int64") - ts
    wall = ts + offset
    day = np.floor_divide(wall, 86_400 * 1_000_000_000)
    minute = (wall - day * 86_400 * 1_000_000_000) // NS_PER_MIN
    new = np.ones(ts.size, dtype=bool)
    new[1:] = day[1:] != day[:-1]
    session = np.cumsum(new) - 1
    if bar_minutes is None:
        # Read from the times of day, not the steps, so a session's tail alone gives the same
        # answer: bars all at local midnight are daily bars; else the bars' common alignment,
        # at most an hour (09:00 and 10:00: hour bars; any odd minute: one-minute bars).
        g = int(np.gcd.reduce(np.append(minute, _DAY_MIN)))
        bar_minutes = g if g == _DAY_MIN else min(g, 60)
    end = minute + bar_minutes
    regular = (minute < rules.close_minute) & (end > rules.open_minute)
    premarket = (minute >= rules.premarket_minute) & (end <= rules.open_minute)
    return SessionLayout(session=session.astype("int64"), minute=minute.astype("int64"),
                         regular=regular, premarket=premarket, starts=np.flatnonzero(new))


def segmented_cumsum(values: np.ndarray, starts: np.ndarray,
                     out: np.ndarray | None = None) -> np.ndarray:
    """Return the running sum of ``values`` along the last axis, restarting at ``starts``.

    ``starts`` are the indices where segments (sessions) begin.  Works on 1-D arrays and on
    stacked panels sharing one time axis.  The sums are taken segment by segment in order, so
    a tail recompute from a segment start is bit-equal to the full one.
    """
    v = np.asarray(values, dtype="float64")
    n = v.shape[-1]
    if out is None:
        out = np.empty_like(v)
    if starts.size <= 1 and (starts.size == 0 or starts[0] == 0):
        return np.cumsum(v, axis=-1, out=out)
    bounds = [0, *starts[starts > 0].tolist(), n]
    for a, b in zip(bounds[:-1], bounds[1:], strict=False):
        # One cumsum per session (a handful per call) keeps float summation order local to
        # the session, which the incremental cache relies on for exact equality.
        np.cumsum(v[..., a:b], axis=-1, out=out[..., a:b])
    return out
