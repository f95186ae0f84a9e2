"""The market clock: replay paces, stepping over closed time, and no bar before its close."""
from __future__ import annotations

from dataclasses import replace

import pandas as pd
import pytest

from shared.errors import Conflict
from shared.market import MarketClock, bar_visible


def test_default_replay_starts_paused_at_the_first_open(db, market_settings, calendar):
    clock = MarketClock(db, market_settings.market.clock)
    assert clock.now_ts() == pd.Timestamp("2024-01-02T14:30Z")
    assert clock.is_open()


def test_step_moves_trading_minutes_and_jumps_nights(controller, calendar):
    controller.advance("2024-03-05T20:58:00Z")
    controller.step()
    assert controller.clock.now_ts() == pd.Timestamp("2024-03-05T20:59Z")
    controller.step(2)  # capped at the close, then the next open + 1 minute
    assert controller.clock.now_ts() == pd.Timestamp("2024-03-06T14:31Z")
    with pytest.raises(Conflict):
        controller.advance("2024-03-01")


def test_multiplier_pace_is_computed_from_anchors(controller, calendar):
    clock = controller.clock
    st = replace(clock.state(), pace="multiplier", speed=60.0, paused=False,
                 sim_anchor=pd.Timestamp("2024-03-05T20:59Z"),
                 wall_anchor=pd.Timestamp("2030-01-01T00:00Z"))
    wall = pd.Timestamp("2030-01-01T00:00:02Z")  # 2 s x 60 = 2 trading minutes
    assert clock.now_at(st, wall) == pd.Timestamp("2024-03-06T14:31Z")  # skips the night
    clock.skip_closed = False
    assert clock.now_at(st, wall) == pd.Timestamp("2024-03-05T21:01Z")
    assert clock.now_at(replace(st, paused=True), wall) == st.sim_anchor
    assert clock.now_at(replace(st, mode="live"), wall) == wall


def test_configure_switches_mode_and_range(controller):
    st = controller.configure(replay_start="2024-07-01", replay_end="2024-07-31", pace="step")
    assert st.sim_anchor == pd.Timestamp("2024-07-01T13:30Z")
    assert controller.clock.now_ts() == st.sim_anchor
    controller.configure(mode="live")
    assert controller.clock.state().mode == "live"


def test_bar_visibility_rule(calendar):
    day = pd.Timestamp("2024-11-29T05:00Z")  # 00:00 New York of a half day closing 18:00Z
    hour = pd.Timestamp("2024-11-29T17:00Z").value  # its last hour bar, 12:00-13:00 New York
    assert not bar_visible([hour], "1h", calendar, pd.Timestamp("2024-11-29T17:59Z").value)[0]
    assert bar_visible([hour], "1h", calendar, pd.Timestamp("2024-11-29T18:00Z").value)[0]
    assert not bar_visible([day.value], "1d", calendar, pd.Timestamp("2024-11-29T17:59Z").value)[0]
    assert bar_visible([day.value], "1d", calendar, pd.Timestamp("2024-11-29T18:00Z").value)[0]


@pytest.mark.parametrize("tf", ["1m", "5m", "15m", "1h", "1d"])
def test_manager_never_returns_a_bar_before_its_close(manager, controller, tf):
    sym = next(iter(manager.universe))
    controller.advance("2024-03-05T15:07:30Z")
    dur = pd.Timedelta(days=0) if tf == "1d" else pd.Timedelta(tf.replace("m", "min"))
    for _ in range(3):
        now = controller.clock.now_ts()
        df = manager.get_historical_data(sym, tf, start="2024-03-01")
        assert len(df)
        if tf == "1d":
            assert df.index[-1] == pd.Timestamp("2024-03-04T05:00Z")  # today not closed yet
        else:
            assert (df.index + dur <= now).all()
            if tf != "1h":  # the newest closed bar is there
                assert df.index[-1] + dur > now - dur
        controller.step(7)
    # the database holds no future bar either
    rows = manager.db.fetch_all("SELECT MAX(ts) FROM bars WHERE symbol = ?", (sym,))
    assert pd.Timestamp(rows[0][0]) < controller.clock.now_ts()


def test_as_of_lets_offline_tools_see_further(manager):
    sym = next(iter(manager.universe))
    df = manager.get_historical_data(sym, "1m", start="2024-03-05", as_of="2024-03-06")
    assert len(df) == 390
