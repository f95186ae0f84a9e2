"""The exchange schedule (session labels, opens, closes) built once a day per machine.

exchange_calendars is the source of every session, but importing it and building XNYS from
1990 costs each process ~16-30 MB that stays resident (its holiday rules, the build's
temporaries), and every one of the nine services needs the schedule.  The schedule itself is
three arrays of ~9,500 int64s, so the first process of the day builds it and stores them in an
``.npz`` file; the others load the arrays (about 0.2 MB).  Hand-written because no library
caches an exchange_calendars schedule; the values are exactly exchange_calendars'.

The file is keyed by calendar, start, exchange_calendars' version and the UTC day (the
library ends a calendar a year after the day it is built), written atomically (temp file +
``os.replace``), so processes starting together never read a half-written file.  Any
unreadable or inconsistent file is ignored and rebuilt.
"""
from __future__ import annotations

import logging
import os
import tempfile
import warnings
from datetime import UTC, datetime
from importlib.metadata import version
from pathlib import Path

import numpy as np
import pandas as pd

log = logging.getLogger(__name__)

#: The schedule arrays: naive session labels, UTC opens and closes, all int64 nanoseconds.
Schedule = tuple[np.ndarray, np.ndarray, np.ndarray]


def cache_dir() -> Path:
    """Return where schedules are kept: ``$TRADING_CACHE_DIR`` or the user's cache dir."""
    explicit = os.environ.get("TRADING_CACHE_DIR")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "trading-suite"


def cache_file(name: str, start: str, today: str | None = None) -> Path:
    """Return the file holding today's schedule of calendar ``name`` from ``start``."""
    day = today or datetime.now(UTC).date().isoformat()
    return cache_dir() / f"calendar-{name}-{start}-xc{version('exchange-calendars')}-{day}.npz"


def build_schedule(name: str, start: str) -> Schedule:
    """Build the schedule with exchange_calendars (slow: imports and computes the rules)."""
    import exchange_calendars as xc

    with warnings.catch_warnings():
        # exchange_calendars 4.13 trips pandas 3.1's Series.values deprecation inside itself
        warnings.simplefilter("ignore", DeprecationWarning)
        sched = xc.get_calendar(name, start=start).schedule
    sessions = pd.DatetimeIndex(sched.index).as_unit("ns").asi8
    opens = pd.DatetimeIndex(sched["open"]).tz_convert("UTC").as_unit("ns").asi8
    closes = pd.DatetimeIndex(sched["close"]).tz_convert("UTC").as_unit("ns").asi8
    return np.array(sessions), np.array(opens), np.array(closes)


def _read(path: Path) -> Schedule | None:
    try:
        with np.load(path, allow_pickle=False) as z:
            s, o, c = (np.asarray(z[k], dtype=np.int64) for k in ("sessions", "opens", "closes"))
    except (OSError, KeyError, ValueError, EOFError) as exc:
        if path.exists():
            log.warning("calendar cache unreadable, rebuilding", extra={"path": str(path),
                                                                        "error": str(exc)})
        return None
    if not (len(s) == len(o) == len(c) > 0) or np.any(c <= o) or np.any(np.diff(s) <= 0):
        log.warning("calendar cache inconsistent, rebuilding", extra={"path": str(path)})
        return None
    return s, o, c


def _write(path: Path, schedule: Schedule) -> None:
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".calendar-", suffix=".npz", dir=path.parent)
        with os.fdopen(fd, "wb") as f:
            np.savez(f, sessions=schedule[0], opens=schedule[1], closes=schedule[2])
        os.replace(tmp, path)
        prefix = path.name.split("-xc", 1)[0] + "-xc"
        for old in path.parent.glob(prefix + "*.npz"):
            if old != path:
                old.unlink(missing_ok=True)  # yesterday's: a year shorter at the far end
    except OSError as exc:  # a read-only home still works, only slower to start
        log.info("calendar cache not written", extra={"path": str(path), "error": str(exc)})


def load_schedule(name: str, start: str) -> Schedule:
    """Return today's schedule of ``name`` from ``start``: from the cache, else built and
    stored for the next process."""
    path = cache_file(name, start)
    schedule = _read(path)
    if schedule is None:
        schedule = build_schedule(name, start)
        _write(path, schedule)
    return schedule
