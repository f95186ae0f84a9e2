"""Bar frames for candlestick tests: hand-built patterns and seeded random sessions."""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from shared.market.calendar import get_calendar


def quiet_prefix(n: int = 12, start: float = 100.0) -> list[tuple[float, float, float, float]]:
    """Return ``n`` small alternating candles (so the next candles count as long)."""
    out, p = [], start
    for i in range(n):
        op, cl = p, p + (0.2 if i % 2 == 0 else -0.2)
        out.append((op, max(op, cl) + 0.2, min(op, cl) - 0.2, cl))
        p = cl
    return out


def arrays(candles: list[tuple[float, float, float, float]]) -> tuple[np.ndarray, ...]:
    o, h, lo, c = (np.array(x, dtype="float64") for x in zip(*candles, strict=True))
    return o, h, lo, c


def session_frame(sessions: list[str], seed: int = 1, timeframe_minutes: int = 5,
                  start: float = 50.0, vol: float = 0.004) -> pd.DataFrame:
    """Return a random-walk bar frame over the regular hours of ``sessions`` (open-time index)."""
    cal = get_calendar()
    idx: list[pd.Timestamp] = []
    for s in sessions:
        o, c = cal.session_bounds(s)
        idx.extend(pd.date_range(o, c, freq=f"{timeframe_minutes}min", inclusive="left"))
    n = len(idx)
    rng = np.random.default_rng(seed)
    close = np.round(start * np.exp(np.cumsum(rng.normal(0, vol, n))), 2)
    open_ = np.round(np.r_[start, close[:-1]] * (1 + rng.normal(0, vol / 4, n)), 2)
    high = np.round(np.maximum(open_, close) * (1 + np.abs(rng.normal(0, vol / 2, n))), 2)
    low = np.round(np.minimum(open_, close) * (1 - np.abs(rng.normal(0, vol / 2, n))), 2)
    df = pd.DataFrame({"open": open_, "high": high, "low": low, "close": close,
                       "volume": rng.integers(100, 10_000, n)},
                      index=pd.DatetimeIndex(idx, name="ts"))
    return df


def simulated_market(tmp_path: Any) -> tuple[Any, Any, Any, Any]:
    """Return (settings, db, clock controller, data manager) of a migrated temp database with the built-in
    20-symbol market on a replay clock over 2024-03-04..06 (pace max)."""
    from shared.db import Database, migrate
    from tests.conftest import make_settings, replay_market

    settings = make_settings(tmp_path, market__universe_size=20, candlesticks__backfill_days=2)
    db = Database.from_settings(settings)
    migrate(db)
    ctl, dm = replay_market(settings, db, "2024-03-04", "2024-03-06")
    return settings, db, ctl, dm
