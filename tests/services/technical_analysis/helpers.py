"""Bar builders for technical analysis tests."""
from __future__ import annotations

import numpy as np
import pandas as pd


def session_ts(day: str = "2024-01-10", bars: int = 78, minutes: int = 5,
               start: str = "09:30") -> np.ndarray:
    """Return bar open times (int64 ns UTC) of one New York session."""
    t0 = pd.Timestamp(f"{day} {start}", tz="America/New_York").tz_convert("UTC")
    return (t0 + pd.to_timedelta(np.arange(bars) * minutes, "min")).as_unit("ns").asi8


def ohlcv_from_close(close: np.ndarray, seed: int = 1) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    c = np.asarray(close, dtype="float64")
    o = np.concatenate([[c[0]], c[:-1]])
    spread = np.abs(rng.normal(0, 0.002, c.size)) * c
    return {"open": o, "high": np.maximum(o, c) + spread, "low": np.minimum(o, c) - spread,
            "close": c, "volume": rng.integers(1_000, 50_000, c.size).astype("float64")}


def random_walk(n: int, seed: int = 7) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(seed)
    return ohlcv_from_close(100 * np.exp(np.cumsum(rng.normal(0, 0.01, n))), seed)
