"""The suite's one market clock: services read "now" from here, never from the wall.

``live``: wall time; open/closed from the exchange calendar.  ``replay``: a simulated time
between ``replay_start`` and ``replay_end`` that runs at ``realtime`` or ``multiplier`` pace
(computed from two anchors, so reading it needs no writes; with ``skip_closed`` only trading
minutes pass), or advances only when told (``max`` / ``step`` pace, or paused).

The state is one row of ``market_clock``, written only by coordination's ``ClockController``
in ``BEGIN IMMEDIATE`` transactions; with no row yet, the settings give a paused replay at the
first session open on or after ``replay_start``.
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

import numpy as np
import pandas as pd

from shared.config_sections.market import ClockSection
from shared.db import Database
from shared.db.notify import MARKET_CLOCK, notify
from shared.errors import Conflict, ValidationError
from shared.market.calendar import MarketCalendar, get_calendar, to_utc
from shared.market.timeframes import parse_timeframe

_MIN_NS = 60_000_000_000


@dataclass(frozen=True)
class ClockState:
    mode: str
    pace: str
    speed: float
    replay_start: pd.Timestamp
    replay_end: pd.Timestamp
    sim_anchor: pd.Timestamp
    wall_anchor: pd.Timestamp
    paused: bool
    step_minutes: int
    run: int = 1  # the market run (see ``ClockController.start_run``)

    def to_dict(self) -> dict[str, Any]:
        return {"mode": self.mode, "pace": self.pace, "speed": self.speed,
                "replay_start": self.replay_start.isoformat(),
                "replay_end": self.replay_end.isoformat(),
                "sim_anchor": self.sim_anchor.isoformat(),
                "wall_anchor": self.wall_anchor.isoformat(), "paused": self.paused,
                "step_minutes": self.step_minutes, "run": self.run}


def _wall() -> pd.Timestamp:
    # whole microseconds: a live clock's "now" (and an anchor taken from it) becomes a
    # datetime, which holds no nanoseconds (every to_pydatetime() warned)
    return pd.Timestamp(time.time_ns() // 1000 * 1000, tz="UTC")


def replay_bounds(cal: MarketCalendar, start: object, end: object) -> tuple[pd.Timestamp, pd.Timestamp]:
    """Return (first session open on/after ``start``, last session close on/before ``end``)."""
    s = to_utc(pd.Timestamp(start).normalize())
    e = to_utc(pd.Timestamp(end).normalize()) + pd.Timedelta(days=1)
    sessions = cal.sessions_in_range(s, e)
    if len(sessions) == 0:
        raise ValidationError(f"no session between {start} and {end}", field="clock")
    return cal.session_bounds(sessions[0])[0], cal.session_bounds(sessions[-1])[1]


class _TradingTime:
    """Maps times to trading minutes elapsed since the calendar's first open, and back."""

    def __init__(self, cal: MarketCalendar) -> None:
        self.open = cal._open_ns
        self.close = cal._close_ns
        dur = self.close - self.open
        self.cum = np.concatenate(([0], np.cumsum(dur)))

    def position(self, ts: pd.Timestamp) -> int:
        v = ts.value
        i = int(np.searchsorted(self.open, v, side="right")) - 1
        if i < 0:
            return 0
        return int(self.cum[i] + min(v - self.open[i], self.close[i] - self.open[i]))

    def time_at(self, pos: int) -> pd.Timestamp:
        j = int(np.searchsorted(self.cum, pos, side="right")) - 1
        j = min(j, len(self.open) - 1)
        return pd.Timestamp(int(self.open[j] + (pos - self.cum[j])), tz="UTC")


class MarketClock:
    """Read-only view of the clock row (cached ``cache_ms``)."""

    def __init__(self, db: Database | None, settings: ClockSection,
                 calendar: MarketCalendar | None = None, *, skip_closed: bool | None = None) -> None:
        self.db = db
        self.settings = settings
        self.calendar = calendar or get_calendar()
        self.skip_closed = settings.skip_closed if skip_closed is None else skip_closed
        self._cached: tuple[float, tuple | None, ClockState] | None = None
        self._default: ClockState | None = None
        # (state, its "now") while the clock stands still (paused, max or step pace): the
        # same state object means the same instant, without pandas on every call
        self._still: tuple[ClockState, datetime] | None = None
        self._lock = threading.Lock()
        self._trading: _TradingTime | None = None

    def _default_state(self) -> ClockState:
        # Computed once: the replay bounds come from the calendar (pandas), and the default
        # clock is paused, so its wall anchor never matters.
        if self._default is None:
            s = self.settings
            start, end = replay_bounds(self.calendar, s.replay_start, s.replay_end)
            self._default = ClockState(s.mode, s.pace, s.speed, start, end, start, _wall(), True,
                                       s.step_minutes)
        return self._default

    def state(self) -> ClockState:
        """Return the clock's state row (or the settings' default when there is none yet)."""
        now = time.monotonic()
        c = self._cached
        if c is not None and (now - c[0]) * 1000 < self.settings.cache_ms:
            return c[2]
        row = None
        if self.db is not None:
            row = self.db.fetch_one(
                "SELECT mode, pace, speed, replay_start, replay_end, sim_anchor, wall_anchor, "
                "paused, step_minutes, run FROM market_clock WHERE id = 1")
        raw = None if row is None else tuple(row)
        if c is not None and raw == c[1]:
            st = c[2]  # unchanged row: skip re-parsing its timestamps with pandas
        elif raw is None:
            st = self._default_state()
        else:
            st = ClockState(raw[0], raw[1], float(raw[2]), to_utc(raw[3]), to_utc(raw[4]),
                            to_utc(raw[5]), to_utc(raw[6]), bool(raw[7]), int(raw[8]),
                            int(raw[9]))
        self._cached = (now, raw, st)
        return st

    def invalidate(self) -> None:
        self._cached = None

    def _trading_time(self) -> _TradingTime:
        if self._trading is None:
            self._trading = _TradingTime(self.calendar)
        return self._trading

    def now_at(self, st: ClockState, wall: pd.Timestamp) -> pd.Timestamp:
        if st.mode == "live":
            return wall
        if st.paused or st.pace in ("max", "step"):
            return min(st.sim_anchor, st.replay_end)
        speed = 1.0 if st.pace == "realtime" else st.speed
        # whole microseconds: datetimes hold no nanoseconds (a fractional speed made some, and
        # every later to_pydatetime() warned)
        elapsed = int(max(0, wall.value - st.wall_anchor.value) * speed) // 1000 * 1000
        if self.skip_closed:
            tt = self._trading_time()
            t = tt.time_at(tt.position(st.sim_anchor) + int(elapsed))
            t = max(t, st.sim_anchor)
        else:
            t = st.sim_anchor + pd.Timedelta(int(elapsed), "ns")
        return min(t, st.replay_end)

    def now(self) -> datetime:
        """Return the market's "now" (UTC)."""
        st = self.state()
        still = self._still
        if still is not None and still[0] is st:
            return still[1]
        if st.mode != "live" and (st.paused or st.pace in ("max", "step")):
            t = min(st.sim_anchor, st.replay_end).to_pydatetime()
            self._still = (st, t)
            return t
        return self.now_at(st, _wall()).to_pydatetime()

    def now_ts(self) -> pd.Timestamp:
        st = self.state()
        if st.mode != "live" and (st.paused or st.pace in ("max", "step")):
            return min(st.sim_anchor, st.replay_end)  # ``now_at`` without reading wall time
        return self.now_at(st, _wall())

    def is_open(self) -> bool:
        return self.calendar.is_open(self.now_ts())

    def current_session(self) -> pd.Timestamp | None:
        return self.calendar.session_of(self.now_ts())

    def next_open(self) -> pd.Timestamp:
        return self.calendar.next_open(self.now_ts())

    def next_close(self) -> pd.Timestamp:
        return self.calendar.next_close(self.now_ts())

    def visible_cutoff(self, timeframe: str = "1m") -> pd.Timestamp:
        """Return the latest bar *open* time that may be seen now (its bar has closed).

        For daily bars that is the stamp (00:00 New York) of the last session closed by now.
        """
        tf = parse_timeframe(timeframe)
        now = self.now_ts()
        if tf.is_daily:
            stamp = self.calendar.previous_session_stamp(now)
            return pd.Timestamp(0, tz="UTC") if stamp is None else stamp
        return now - tf.duration

    def visible_mask(self, ts_ns: np.ndarray, timeframe: str, *, crypto: bool = False,
                     now: pd.Timestamp | None = None) -> np.ndarray:
        """Return which bars (open times, int64 ns) have closed by ``now`` (default: the clock)."""
        return bar_visible(ts_ns, timeframe, self.calendar,
                           (now or self.now_ts()).value, crypto=crypto)

    def snapshot(self) -> dict[str, Any]:
        st = self.state()
        now = self.now_at(st, _wall())
        return {**st.to_dict(), "now": now.isoformat(), "is_open": self.calendar.is_open(now),
                "skip_closed": self.skip_closed}


def bar_end(ts_ns: np.ndarray, timeframe: str, cal: MarketCalendar, *,
            crypto: bool = False) -> np.ndarray:
    """Return each bar's close time (int64 ns) from its open time.

    A bar closes at ``ts + timeframe``, capped at its session's close: a daily equity bar
    (stamped 00:00 New York) at its session's close, the hour bar stamped 09:00 New York at
    10:00, a half day's 12:00 hour bar at 13:00 (``MarketCalendar.bar_close_for`` finds the
    session from the stamp).  Crypto bars close at ``ts + timeframe``.
    """
    tf = parse_timeframe(timeframe)
    ts_ns = np.asarray(ts_ns, dtype="int64")
    end = ts_ns + tf.minutes * _MIN_NS
    if not crypto:
        close = cal.bar_close_for(ts_ns, tf)
        end = np.where(close > 0, np.minimum(end, close), end)
    return end


def bar_visible(ts_ns: np.ndarray, timeframe: str, cal: MarketCalendar, now_ns: int, *,
                crypto: bool = False) -> np.ndarray:
    """Return True for bars whose close (``bar_end``) is at or before ``now_ns``."""
    return bar_end(ts_ns, timeframe, cal, crypto=crypto) <= now_ns


class ClockController:
    """Coordination's handle to set the clock: mode, pace, speed, pause, step and advance."""

    def __init__(self, db: Database, settings: ClockSection,
                 calendar: MarketCalendar | None = None, updated_by: str = "coordination") -> None:
        self.db = db
        self.clock = MarketClock(db, settings, calendar)
        self.settings = settings
        self.updated_by = updated_by

    def _write(self, st: ClockState) -> ClockState:
        with self.db.transaction("market:clock") as conn:
            self._write_row(conn, st)
        self.clock.invalidate()
        return st

    def _write_row(self, conn: Any, st: ClockState) -> None:
        # the run is never written here: only ``start_run`` moves it
        conn.execute(
            "INSERT INTO market_clock (id, mode, pace, speed, replay_start, replay_end, "
            "sim_anchor, wall_anchor, paused, step_minutes, updated_at, updated_by) "
            "VALUES (1, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (id) DO UPDATE SET "
            "mode=excluded.mode, pace=excluded.pace, speed=excluded.speed, "
            "replay_start=excluded.replay_start, replay_end=excluded.replay_end, "
            "sim_anchor=excluded.sim_anchor, wall_anchor=excluded.wall_anchor, "
            "paused=excluded.paused, step_minutes=excluded.step_minutes, "
            "updated_at=excluded.updated_at, updated_by=excluded.updated_by",
            (st.mode, st.pace, st.speed, st.replay_start.isoformat(),
             st.replay_end.isoformat(), st.sim_anchor.isoformat(),
             st.wall_anchor.isoformat(), int(st.paused), st.step_minutes,
             datetime.now(UTC).isoformat(), self.updated_by))
        notify(conn, MARKET_CLOCK)  # readers of the clock wake on commit (PostgreSQL)

    def start_run(self, expect_run: int, *, paused: bool,
                  also: Callable[[Any], None] | None = None,
                  to: ClockState | None = None) -> ClockState:
        """Start market run ``expect_run + 1``: rewind to the replay's first open (or set
        the clock ``to`` a state from ``plan``) and move the run number, in one transaction
        (``also(conn)`` runs in it too).

        Without ``to``, mode, pace, speed, range and step size stay as set; the closed run's
        row in ``market_runs`` keeps where its clock stood.

        Raises:
            Conflict: the clock (or ``to``) is live, or the current run is no longer
                ``expect_run``.
        """
        st = self._rebase()
        target = to or replace(st, sim_anchor=st.replay_start)
        if target.mode != "replay":
            raise Conflict("the clock is live; only a replay can be rewound", field="mode")
        wall = datetime.now(UTC).isoformat()
        new = replace(target, paused=paused, wall_anchor=_wall())
        with self.db.transaction("market:run") as conn:
            row = conn.execute("SELECT run FROM market_clock WHERE id = 1").fetchone()
            current = 1 if row is None else int(row[0])
            if current != expect_run:
                raise Conflict(f"the market run is {current}, not {expect_run}", field="run")
            self._write_row(conn, new)
            conn.execute("UPDATE market_clock SET run = ? WHERE id = 1", (current + 1,))
            conn.execute("UPDATE market_runs SET ended_at = ?, clock_end = ?, speed = ?, "
                         "mode = ? WHERE run = ?",
                         (wall, st.sim_anchor.isoformat(), st.speed, st.mode, current))
            conn.execute("INSERT INTO market_runs (run, started_at, clock_start) "
                         "VALUES (?, ?, ?)", (current + 1, wall, new.sim_anchor.isoformat()))
            if also is not None:
                also(conn)
        self.clock.invalidate()
        return replace(new, run=current + 1)

    def _rebase(self) -> ClockState:
        """Return the current state with its anchors moved to now (so changes apply from now)."""
        st = self.clock.state()
        wall = _wall()
        return replace(st, sim_anchor=self.clock.now_at(st, wall), wall_anchor=wall)

    def reset(self, *, paused: bool = False) -> ClockState:
        """Move the replay back to its first session open, keeping mode, pace, speed, range
        and step size as set (the settings' clock when none was written yet)."""
        st = replace(self._rebase(), paused=paused)
        return self._write(replace(st, sim_anchor=st.replay_start))

    def configure(self, *, mode: str | None = None, pace: str | None = None,
                  speed: float | None = None, replay_start: object = None,
                  replay_end: object = None, step_minutes: int | None = None) -> ClockState:
        """Change the clock; a new replay range restarts the replay at its first open.

        Raises:
            ValidationError: for an unknown mode or pace, a speed <= 0 or an empty range.
        """
        return self._write(self.plan(mode=mode, pace=pace, speed=speed,
                                     replay_start=replay_start, replay_end=replay_end,
                                     step_minutes=step_minutes))

    def plan(self, *, mode: str | None = None, pace: str | None = None,
             speed: float | None = None, replay_start: object = None,
             replay_end: object = None, step_minutes: int | None = None) -> ClockState:
        """Return the clock ``configure`` would write (nothing is written).

        Raises:
            ValidationError: for an unknown mode or pace, a speed <= 0 or an empty range.
        """
        if mode not in (None, "live", "replay"):
            raise ValidationError(f"mode must be live or replay, was {mode!r}", field="mode")
        if pace not in (None, "realtime", "multiplier", "max", "step"):
            raise ValidationError(f"unknown pace {pace!r}", field="pace")
        if speed is not None and not speed > 0:
            raise ValidationError(f"speed must be > 0, was {speed}", field="speed")
        st = self._rebase()
        if replay_start is not None or replay_end is not None:
            s, e = replay_bounds(self.clock.calendar, replay_start or st.replay_start.date(),
                                 replay_end or st.replay_end.date())
            st = replace(st, replay_start=s, replay_end=e, sim_anchor=s)
        return replace(st, mode=mode or st.mode, pace=pace or st.pace, speed=speed or st.speed,
                       step_minutes=step_minutes or st.step_minutes)

    def moves_back(self, st: ClockState) -> bool:
        """Return whether clock ``st`` would be earlier than the clock now."""
        wall = _wall()
        return bool(self.clock.now_at(st, wall) < self.clock.now_at(self.clock.state(), wall))

    def pause(self) -> ClockState:
        return self._write(replace(self._rebase(), paused=True))

    def resume(self) -> ClockState:
        return self._write(replace(self._rebase(), paused=False))

    def advance(self, to: object) -> ClockState:
        """Move replay time forward to ``to`` (capped at the replay end).

        Raises:
            Conflict: in live mode, or when ``to`` is before the current time.
        """
        st = self._rebase()
        if st.mode != "replay":
            raise Conflict("the clock is live; only a replay can be advanced", field="mode")
        target = to_utc(to)
        if target < st.sim_anchor:
            raise Conflict(f"cannot move the clock back from {st.sim_anchor} to {target}",
                           field="to")
        return self._write(replace(st, sim_anchor=min(target, st.replay_end)))

    def step(self, n: int = 1) -> ClockState:
        """Advance ``n`` steps of ``step_minutes`` trading minutes (jumping over closed time)."""
        st = self._rebase()
        cal = self.clock.calendar
        t = st.sim_anchor
        for _ in range(max(1, n)):
            if t >= st.replay_end:
                break
            inside = cal.session_of(t)
            if inside is None:
                t = cal.next_open(t)
            close = cal.next_close(t)
            t = min(t + pd.Timedelta(minutes=st.step_minutes), close)
        if st.mode != "replay":
            raise Conflict("the clock is live; only a replay can be stepped", field="mode")
        return self._write(replace(st, sim_anchor=min(t, st.replay_end)))
