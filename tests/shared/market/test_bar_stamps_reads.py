"""The data manager stores the bars stamped before their session's open: the 09:00 hour bar
read between 10:00 and 10:30, the daily bar (00:00 New York) once its session has closed."""
from __future__ import annotations

from pathlib import Path

import pandas as pd

from shared.market import ClockController
from tests.shared.market.test_batched import _manager


def test_first_hour_and_last_daily_bar_are_stored_when_they_close(tmp_path: Path) -> None:
    dm = _manager(tmp_path, "a", "2024-03-05T15:05Z")  # 10:05 New York: the 09:00 bar closed
    syms = [s for s, i in dm.universe.items() if i.asset_class == "equity"][:6]
    got = dm.get_ohlcv_many(syms, "1h", "2024-03-04")
    assert got[syms[0]].index[-1] == pd.Timestamp("2024-03-05T14:00Z")
    ClockController(dm.db, dm.settings.market.clock).advance("2024-03-05T18:00Z")
    dm.clock.invalidate()
    dm.memory.clear()
    for sym, df in dm.get_ohlcv_many(syms, "1h", "2024-03-05").items():
        assert [t.tz_convert("America/New_York").hour for t in df.index] == [9, 10, 11, 12], sym
    daily = dm.get_ohlcv_many(syms, "1d", "2024-02-20")
    assert all(df.index[-1] == pd.Timestamp("2024-03-04T05:00Z") for df in daily.values())
