"""The visibility cut of a read keeps the visible bars without copying when they lead."""
from __future__ import annotations

import numpy as np

from shared.market.frames import BarArrays
from shared.market.reads import visible_prefix


def _bars(n: int) -> BarArrays:
    f = np.arange(n, dtype="float64") + 1.0
    i = np.arange(n, dtype="int64")
    return BarArrays(i * 60_000_000_000, f, f + 1, f - 0.5, f + 0.5, i * 10, f, i, "simulated")


def test_all_visible_is_the_read_itself_and_a_visible_prefix_is_a_view() -> None:
    arr = _bars(5)
    assert visible_prefix(arr, np.ones(5, dtype=bool)) is arr
    cut = visible_prefix(arr, np.array([True, True, True, False, False]))
    assert len(cut) == 3 and cut.source == "simulated"
    for f in ("ts", "open", "high", "low", "close", "volume", "vwap", "trade_count"):
        np.testing.assert_array_equal(getattr(cut, f), getattr(arr, f)[:3])
        assert np.shares_memory(getattr(cut, f), getattr(arr, f))


def test_a_mask_that_is_not_a_prefix_still_selects_exactly_its_bars() -> None:
    arr = _bars(4)
    cut = visible_prefix(arr, np.array([True, False, True, False]))
    np.testing.assert_array_equal(cut.ts, arr.ts[[0, 2]])
    np.testing.assert_array_equal(cut.close, arr.close[[0, 2]])
    assert len(visible_prefix(arr, np.zeros(4, dtype=bool))) == 0
