"""Seeded price series for pattern tests: piecewise-linear paths through chosen pivots + noise."""
from __future__ import annotations

import numpy as np
import pandas as pd

T0 = pd.Timestamp("2024-03-04 14:30", tz="UTC")


def frame(close: np.ndarray, rng: np.random.Generator, noise: float,
          volume: np.ndarray | None = None) -> pd.DataFrame:
    """Return 1-minute OHLCV bars around ``close``: open at the previous close, wicks of
    half-normal size ``noise / 2``, lognormal volume around 10,000."""
    n = len(close)
    o = np.concatenate(([close[0]], close[:-1])) + rng.normal(0, noise / 4, n)
    wick = np.abs(rng.normal(0, noise / 2, (2, n)))
    h = np.maximum(o, close) + wick[0]
    lo = np.minimum(o, close) - wick[1]
    v = 10_000 * rng.lognormal(0, 0.25, n) if volume is None else volume
    idx = pd.date_range(T0, periods=n, freq="1min", name="ts")
    return pd.DataFrame({"open": o, "high": h, "low": lo, "close": close,
                         "volume": np.round(v)}, index=idx)


def path_frame(points: list[tuple[int, float]], seed: int, noise: float = 0.08,
               spikes: dict[int, float] | None = None) -> pd.DataFrame:
    """Return bars whose closes follow straight lines through ``points`` (bar, price) plus
    iid normal noise of sd ``noise``; ``spikes`` multiplies the volume of given bars."""
    rng = np.random.default_rng(seed)
    xs, ys = zip(*points, strict=True)
    n = xs[-1] + 1
    close = np.interp(np.arange(n), xs, ys) + rng.normal(0, noise, n)
    v = 10_000 * rng.lognormal(0, 0.25, n)
    for i, mult in (spikes or {}).items():
        v[i] *= mult
    return frame(close, rng, noise, v)


def random_walk(seed: int, n: int = 390, sigma: float = 0.05, start: float = 100.0
                ) -> pd.DataFrame:
    """Return a driftless Gaussian random walk of ``n`` 1-minute bars (no planted pattern)."""
    rng = np.random.default_rng(seed)
    close = start + np.cumsum(rng.normal(0, sigma, n))
    return frame(close, rng, sigma)
