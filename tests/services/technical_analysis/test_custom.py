"""Session VWAP, relative volume, opening range and pre-market range against hand-computed values."""
from __future__ import annotations

import numpy as np

from shared.ta import custom
from tests.services.technical_analysis.helpers import session_ts


def test_vwap_by_hand_restarts_each_session() -> None:
    ts = np.concatenate([session_ts("2024-01-10", 3), session_ts("2024-01-11", 2)])
    h = np.array([11.0, 12.0, 13.0, 21.0, 23.0])
    lo = np.array([9.0, 10.0, 11.0, 19.0, 21.0])
    c = np.array([10.0, 11.0, 12.0, 20.0, 22.0])  # typical prices equal the closes
    v = np.array([100.0, 200.0, 100.0, 50.0, 150.0])
    out = custom.vwap(ts, h, lo, c, v, nbdev1=1.0, nbdev2=2.0)
    # Day 1: (10*100 + 11*200) / 300 = 10.6667, then (3200 + 1200) / 400 = 11.0
    np.testing.assert_allclose(out["vwap"], [10.0, 3200 / 300, 11.0, 20.0, 21.5])
    # Bar 3: E[p^2] = (100*100 + 121*200 + 144*100) / 400 = 121.5 -> sd = sqrt(0.5)
    np.testing.assert_allclose(out["upper1"][2], 11.0 + np.sqrt(0.5))
    np.testing.assert_allclose(out["lower2"][2], 11.0 - 2 * np.sqrt(0.5))
    # Day 2: E[p^2] = (400*50 + 484*150) / 200 = 463 -> var = 463 - 462.25 = 0.75
    np.testing.assert_allclose(out["upper2"][4], 21.5 + 2 * np.sqrt(0.75))


def test_vwap_ignores_premarket_unless_asked() -> None:
    ts = np.concatenate([session_ts("2024-01-10", 1, start="09:00"),
                         session_ts("2024-01-10", 1, start="09:30")])
    p, v = np.array([50.0, 10.0]), np.array([1000.0, 100.0])
    plain = custom.vwap(ts, p, p, p, v)["vwap"]
    assert np.isnan(plain[0]) and plain[1] == 10.0
    with_pre = custom.vwap(ts, p, p, p, v, include_premarket=True)["vwap"]
    np.testing.assert_allclose(with_pre, [50.0, (50_000 + 1000) / 1100])


def test_relative_volume_same_time_of_day() -> None:
    days = ["2024-01-08", "2024-01-09", "2024-01-10"]
    ts = np.concatenate([session_ts(d, 2) for d in days])
    v = np.array([100.0, 300.0, 200.0, 100.0, 300.0, 800.0])
    per_bar = custom.relative_volume(ts, v, sessions=2, cumulative=False)
    # Day 3 bar 1: 300 / mean(100, 200) = 2; bar 2: 800 / mean(300, 100) = 4
    np.testing.assert_allclose(per_bar[4:], [2.0, 4.0])
    assert np.isnan(per_bar[:4]).all()  # fewer than two earlier sessions
    cum = custom.relative_volume(ts, v, sessions=2, cumulative=True)
    # Day 3 so far 1100 vs mean(400, 300) = 350
    np.testing.assert_allclose(cum[5], 1100 / 350)
    panel = custom.relative_volume(ts, np.vstack([v, 2 * v]), sessions=2, cumulative=True)
    np.testing.assert_allclose(panel[1], cum)


def test_opening_range_is_unknown_until_complete() -> None:
    ts = session_ts("2024-01-10", 6)  # 5-minute bars, 15-minute range = first 3 bars
    h = np.array([10.0, 10.5, 10.2, 11.0, 12.0, 9.0])
    lo = np.array([9.5, 9.8, 9.1, 10.0, 11.0, 8.0])
    out = custom.opening_range(ts, h, lo, minutes=15)
    assert np.isnan(out["orh"][:3]).all()
    np.testing.assert_array_equal(out["orh"][3:], [10.5] * 3)
    np.testing.assert_array_equal(out["orl"][3:], [9.1] * 3)


def test_premarket_range_where_data_exists() -> None:
    ts = np.concatenate([session_ts("2024-01-10", 3, start="08:00", minutes=30),
                         session_ts("2024-01-10", 2), session_ts("2024-01-11", 2)])
    h = np.array([5.0, 7.0, 6.0, 9.0, 9.5, 8.0, 8.0])
    lo = np.array([4.0, 3.0, 3.5, 8.0, 8.5, 7.0, 7.0])
    out = custom.premarket_range(ts, h, lo)
    np.testing.assert_array_equal(out["pmh"][:5], [5.0, 7.0, 7.0, 7.0, 7.0])
    np.testing.assert_array_equal(out["pml"][:5], [4.0, 3.0, 3.0, 3.0, 3.0])
    assert np.isnan(out["pmh"][5:]).all()  # no pre-market bars on the 11th
