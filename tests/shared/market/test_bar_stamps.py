"""Bars are stamped like Alpaca's: an hour bar on the clock hour, a daily bar at 00:00 New York
of its session's date (00:00 UTC for crypto), and each is visible from its close."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shared.market import SimulatedProvider, bar_visible, resample_bars
from shared.market.resample import bar_stamps, next_bucket_start
from shared.market.symbols import universe_map

NY = "America/New_York"


@pytest.fixture(scope="module")
def provider(calendar):
    return SimulatedProvider(7, universe_map(7, 20), calendar)


def _equity(provider) -> str:
    return next(s for s, i in provider.universe.items() if i.asset_class == "equity")


def _minutes(provider, sym: str, day: str) -> pd.DataFrame:
    return provider.fetch_bars(sym, "1m", day, pd.Timestamp(day) + pd.Timedelta(days=1))


def _ny(ts: pd.Timestamp) -> pd.Timestamp:
    return pd.Timestamp(ts).tz_convert(NY)


@pytest.mark.parametrize(("day", "hours"), [
    ("2024-11-26", ["09:00", "10:00", "11:00", "12:00", "13:00", "14:00", "15:00"]),
    ("2024-11-29", ["09:00", "10:00", "11:00", "12:00"]),  # half day, closes 13:00 (EST)
    ("2024-07-03", ["09:00", "10:00", "11:00", "12:00"]),  # half day, closes 13:00 (EDT)
])
def test_hour_bars_are_on_the_clock_hour_with_the_minutes_ohlcv(calendar, provider, day, hours):
    sym = _equity(provider)
    m = _minutes(provider, sym, day)
    h = resample_bars(m, "1h", calendar)
    assert [_ny(t).strftime("%H:%M") for t in h.index] == hours
    local = m.index.tz_convert(NY)
    for t, row in h.iterrows():
        lt = _ny(t)
        start = lt if lt.hour > 9 else lt.replace(minute=30)  # the 09:00 bar opens at 09:30
        part = m[(local >= start) & (local < lt + pd.Timedelta(hours=1))]
        assert len(part) == (30 if lt.hour == 9 else 60)
        assert row["open"] == part["open"].iloc[0] and row["close"] == part["close"].iloc[-1]
        assert row["high"] == part["high"].max() and row["low"] == part["low"].min()
        assert row["volume"] == part["volume"].sum()
    # the same bars from the provider's own 1h path
    pd.testing.assert_frame_equal(provider.fetch_bars(sym, "1h", day, pd.Timestamp(day)
                                                      + pd.Timedelta(days=1))[list(h.columns)],
                                  h, check_freq=False, check_names=False)


def test_daily_bar_at_new_york_midnight_across_a_dst_change(calendar, provider):
    sym = _equity(provider)
    d = provider.fetch_bars(sym, "1d", "2024-03-08", "2024-03-12")
    # Friday in EST (UTC-5), Monday in EDT (UTC-4): both 00:00 New York
    assert list(d.index) == [pd.Timestamp("2024-03-08T05:00Z"), pd.Timestamp("2024-03-11T04:00Z")]
    assert [calendar.session_stamp(s) for s in ("2024-03-08", "2024-03-11")] == list(d.index)
    for t, row in d.iterrows():
        m = _minutes(provider, sym, _ny(t).date().isoformat())
        assert len(m) == 390
        assert (row["open"], row["close"]) == (m["open"].iloc[0], m["close"].iloc[-1])
        assert row["high"] == m["high"].max() and row["volume"] == m["volume"].sum()


def test_daily_bar_visible_exactly_at_the_session_close(calendar):
    for day, close in (("2024-03-08", "2024-03-08T21:00Z"), ("2024-03-11", "2024-03-11T20:00Z"),
                       ("2024-11-29", "2024-11-29T18:00Z")):
        stamp = calendar.session_stamp(day).value
        c = pd.Timestamp(close)
        assert calendar.bar_close_for([stamp], "1d")[0] == c.value
        assert not bar_visible([stamp], "1d", calendar, (c - pd.Timedelta(1)).value)[0]
        assert bar_visible([stamp], "1d", calendar, c.value)[0]


def test_first_hour_bar_visible_at_ten_new_york(calendar):
    for nine, ten in (("2024-11-26T14:00Z", "2024-11-26T15:00Z"),   # EST
                      ("2024-07-03T13:00Z", "2024-07-03T14:00Z")):  # EDT
        t, v = pd.Timestamp(nine).value, pd.Timestamp(ten).value
        assert calendar.bar_close_for([t], "1h")[0] > 0  # it belongs to the session
        assert not bar_visible([t], "1h", calendar, v - 1)[0]
        assert bar_visible([t], "1h", calendar, v)[0]
    # a one-minute bar at 09:00 is pre-market: no session, it closes a minute later
    nine = pd.Timestamp("2024-11-26T14:00Z").value
    assert calendar.bar_close_for([nine], "1m")[0] == -1
    assert calendar.session_close_for(np.array([nine]))[0] == -1


def test_crypto_daily_bar_at_utc_midnight(calendar, provider):
    d = provider.fetch_bars("BTC/USD", "1d", "2024-03-09", "2024-03-11")
    assert list(d.index) == [pd.Timestamp("2024-03-09T00:00Z"), pd.Timestamp("2024-03-10T00:00Z")]
    h = provider.fetch_bars("BTC/USD", "1h", "2024-03-10", "2024-03-11")
    assert len(h) == 24 and (h.index.minute == 0).all()
    t = pd.Timestamp("2024-03-10T00:00Z").value
    end = pd.Timestamp("2024-03-11T00:00Z").value
    assert not bar_visible([t], "1d", calendar, end - 1, crypto=True)[0]
    assert bar_visible([t], "1d", calendar, end, crypto=True)[0]


def test_sessions_with_bars_count_bars_stamped_before_the_open(calendar):
    midnight = calendar.session_stamp("2024-03-05")
    # [00:00, 00:01) holds the daily bar but none of the session's hours
    assert len(calendar.sessions_in_range(midnight, midnight + pd.Timedelta(minutes=1))) == 0
    got = calendar.sessions_with_bars(midnight, midnight + pd.Timedelta(minutes=1), "1d")
    assert [d.date().isoformat() for d in got] == ["2024-03-05"]
    nine = pd.Timestamp("2024-03-05T14:00Z")  # 09:00 New York
    assert len(calendar.sessions_with_bars(nine, nine + pd.Timedelta(minutes=5), "1h")) == 1
    assert len(calendar.sessions_with_bars(nine, nine + pd.Timedelta(minutes=5), "1m")) == 0


def test_bar_stamps_tell_aligned_from_misaligned(calendar):
    ts = np.array([pd.Timestamp(t).value for t in (
        "2024-03-05T05:00Z",   # 00:00 New York: the daily stamp
        "2024-03-05T14:30Z",   # the open: a daily bar stamped the old way
        "2024-03-09T05:00Z")])  # a Saturday: no session
    assert list(bar_stamps(ts, "1d", calendar)) == [ts[0], ts[0], -1]
    hours = np.array([pd.Timestamp(t).value for t in (
        "2024-03-05T14:00Z", "2024-03-05T14:30Z", "2024-03-05T21:00Z")])
    assert list(bar_stamps(hours, "1h", calendar)) == [hours[0], hours[0], -1]


def test_next_bucket_start_steps_over_nights_to_the_first_bucket(calendar):
    def nxt(t: str, tf: str) -> pd.Timestamp:
        return pd.Timestamp(next_bucket_start(pd.Timestamp(t).value, tf, calendar), tz="UTC")

    assert nxt("2024-03-05T14:00Z", "1h") == pd.Timestamp("2024-03-05T15:00Z")
    assert nxt("2024-03-05T20:00Z", "1h") == pd.Timestamp("2024-03-06T14:00Z")  # 09:00 NY
    assert nxt("2024-11-29T17:00Z", "1h") == pd.Timestamp("2024-12-02T14:00Z")  # after 13:00
    assert nxt("2024-03-05T20:55Z", "5m") == pd.Timestamp("2024-03-06T14:30Z")
    assert nxt("2024-03-08T05:00Z", "1d") == pd.Timestamp("2024-03-11T04:00Z")  # over DST
