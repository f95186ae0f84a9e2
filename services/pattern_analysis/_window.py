"""One symbol's visible bars kept as plain arrays between analyses.

The service re-analyses every symbol each minute on its last ``lookback_bars`` bars: the window
a fresh read would return is the kept one plus the bars closed since, cut to its length.  Kept
as arrays, extending it costs a few ``np.concatenate`` calls; the same as DataFrames cost a
``pd.concat`` and index slicing about thirty times as long.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd

_COLUMNS = ("open", "high", "low", "close", "volume")


@dataclass(frozen=True)
class Window:
    """Bars as aligned arrays: ``ts`` int64 open times (ns, UTC), the rest float64."""

    ts: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray
    volume: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.size)

    @classmethod
    def from_frame(cls, df: pd.DataFrame) -> Window:
        """Return a bar frame's (UTC index; open, high, low, close, volume) data as arrays.

        The conversions are those of ``Bars.from_frame``, so both give the same numbers.

        Raises:
            ValueError: when a column is missing or the index is not a DatetimeIndex.
        """
        missing = [c for c in _COLUMNS if c not in df.columns]
        if missing:
            raise ValueError(f"bar frame lacks columns {missing}")
        if not isinstance(df.index, pd.DatetimeIndex):
            raise ValueError("bar frame index must be a DatetimeIndex")
        idx = df.index if df.index.tz is not None else df.index.tz_localize("UTC")
        ts = np.asarray(idx.tz_convert("UTC").as_unit("ns").asi8, dtype=np.int64)
        return cls(ts, *(df[c].to_numpy(float) for c in _COLUMNS))

    @classmethod
    def of(cls, bars: Any) -> Window:
        """Return ``bars`` as a window: a bar frame, or arrays with the same attribute names
        (``shared.market``'s ``BarArrays``; their integer volume becomes float64)."""
        if isinstance(bars, pd.DataFrame):
            return cls.from_frame(bars)
        return cls(np.asarray(bars.ts, dtype=np.int64),
                   *(np.asarray(getattr(bars, c), dtype=np.float64) for c in _COLUMNS))

    def take(self, keep: slice | np.ndarray) -> Window:
        return Window(*(a[keep] for a in self._arrays()))

    def closed_by(self, now_ns: int, duration_ns: int) -> Window:
        """Return the bars closed at ``now_ns`` (open time + one bar <= now)."""
        keep = self.ts + duration_ns <= now_ns
        return self if keep.all() else self.take(keep)

    def tail(self, n: int) -> Window:
        return self if len(self) <= n else self.take(slice(len(self) - n, None))

    def extended(self, new: Window) -> Window:
        """Return these bars followed by ``new``, cut to this window's length."""
        keep = len(self)
        if not len(new) or not keep:
            return self
        return Window(*(np.concatenate([a[min(len(new), keep):], b])[-keep:]
                        for a, b in zip(self._arrays(), new._arrays(), strict=True)))

    def frame(self) -> pd.DataFrame:
        """Return the bars as a frame (UTC index named ``ts``)."""
        idx = pd.DatetimeIndex(self.ts.astype("M8[ns]"), name="ts").tz_localize("UTC")
        return pd.DataFrame({c: getattr(self, c) for c in _COLUMNS}, index=idx)

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return (self.ts, self.open, self.high, self.low, self.close, self.volume)
