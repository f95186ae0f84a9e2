"""Resampling one-minute bars agrees with pandas' own resampling, session by session."""
from __future__ import annotations

import pandas as pd
import pytest

from shared.market import SimulatedProvider, resample_bars
from shared.market.symbols import universe_map

AGG = {"open": "first", "high": "max", "low": "min", "close": "last", "volume": "sum"}


@pytest.fixture(scope="module")
def minutes(calendar):
    p = SimulatedProvider(42, universe_map(42, 20), calendar)
    sym = next(iter(p.universe))
    return p.fetch_bars(sym, "1m", "2024-11-25", "2024-12-03")  # includes a half day


@pytest.mark.parametrize("tf,rule", [("5m", "5min"), ("15m", "15min"), ("1h", "1h")])
def test_intraday_matches_pandas(calendar, minutes, tf, rule):
    """Buckets on the New York clock (pandas' default origin, local midnight), per session."""
    ours = resample_bars(minutes, tf, calendar)
    parts = []
    ny = minutes.tz_convert("America/New_York")
    for _, day in ny.groupby(ny.index.date):
        parts.append(day.resample(rule, closed="left", label="left").agg(AGG).dropna())
    theirs = pd.concat(parts).tz_convert("UTC")
    theirs["volume"] = theirs["volume"].astype("int64")
    pd.testing.assert_frame_equal(ours[list(AGG)], theirs, check_freq=False, check_names=False)


def test_daily_bar_is_the_session_bar_stamped_at_new_york_midnight(calendar, minutes):
    ours = resample_bars(minutes, "1d", calendar)
    ny = minutes.tz_convert("America/New_York")
    theirs = ny.resample("1D").agg(AGG).dropna()
    assert len(ours) == len(theirs) == 5  # Thanksgiving is closed
    assert (ours[list(AGG)].to_numpy() == theirs.to_numpy()).all()
    assert list(ours.index) == list(theirs.index.tz_convert("UTC"))  # 00:00 New York
    assert ours.index[0] == pd.Timestamp("2024-11-25T05:00Z")
    assert list(ours.index) == [calendar.session_stamp(d) for d in theirs.index.tz_localize(None)]


def test_hour_bars_are_on_the_clock_hour(calendar, minutes):
    h = resample_bars(minutes, "1h", calendar)
    day = h[h.index.tz_convert("America/New_York").date == pd.Timestamp("2024-11-26").date()]
    assert [t.strftime("%H:%M") for t in day.index.tz_convert("America/New_York")] == [
        "09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00"]
    assert day["volume"].sum() == minutes.loc["2024-11-26", "volume"].sum()
