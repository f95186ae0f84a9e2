"""What the service keeps between updates of one (symbol, timeframe): its recent bars and the
detections still waiting for outcomes, so an update every bar reads only the new bars.

A ``Tail`` is a snapshot of the database (``candle_progress``'s row, the pending detections
and their outcome counts) plus every visible bar from ``cov`` on; it is trusted only while the
progress row still reads ``version`` (every write to the symbol changes it), and the service
falls back to reading everything when it does not, or when the bars it needs start before
``cov``.  Frozen: a new one replaces the old after each committed write.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import pandas as pd


@dataclass(frozen=True)
class Bars:
    """Bars as arrays: open times and close times (int64 ns) and float64 prices."""

    ts: np.ndarray
    end: np.ndarray
    open: np.ndarray
    high: np.ndarray
    low: np.ndarray
    close: np.ndarray

    def __len__(self) -> int:
        return int(self.ts.size)

    def since(self, start_ns: int) -> Bars:
        """Return the bars opening at or after ``start_ns`` (views, no copy)."""
        i = int(np.searchsorted(self.ts, start_ns, side="left"))
        return self if i == 0 else Bars(*(a[i:] for a in self._arrays()))

    def then(self, other: Bars) -> Bars:
        """Return these bars followed by ``other`` (all of whose bars are later)."""
        if not len(other):
            return self
        if not len(self):
            return other
        return Bars(*(np.concatenate([a, b]) for a, b in zip(self._arrays(), other._arrays(),
                                                              strict=True)))

    def first_row(self) -> tuple[Any, ...]:
        return tuple(a[0].item() for a in self._arrays())

    def last_row(self) -> tuple[Any, ...]:
        return tuple(a[-1].item() for a in self._arrays())

    def _arrays(self) -> tuple[np.ndarray, ...]:
        return self.ts, self.end, self.open, self.high, self.low, self.close

    @classmethod
    def from_frame(cls, df: pd.DataFrame, end_ns: np.ndarray) -> Bars:
        """Return a bar frame's prices as arrays; ``end_ns`` are its bars' close times."""
        return cls(np.asarray(df.index.as_unit("ns").asi8, dtype="int64"),
                   np.asarray(end_ns, dtype="int64"),
                   *(df[c].to_numpy(dtype="float64") for c in ("open", "high", "low", "close")))


@dataclass(frozen=True)
class Waiting:
    """One detection still missing outcomes: its row and the outcomes it already has."""

    id: int
    ts_ns: int
    close_micros: int
    direction: int
    n_done: int                 # outcome rows stored (what ``mark_complete`` counts)
    done: frozenset[int]        # their horizons


@dataclass(frozen=True)
class Tail:
    """A symbol's state after its last committed update (see the module docstring)."""

    version: tuple[str, str]          # candle_progress (last_bar_ts, updated_at)
    cov: int                          # every visible bar opening at or after this (ns) is held
    bars: Bars
    waiting: tuple[Waiting, ...]      # by bar time
    latest: tuple[Any, ...] | None    # the rows on the last bar (None: not known, ask the DB)

    def covers(self, start: pd.Timestamp) -> bool:
        return start.value >= self.cov

    def trimmed(self, keep_from: pd.Timestamp) -> Tail:
        """Return this tail holding only the bars from ``keep_from`` on (if it held more)."""
        if keep_from.value <= self.cov:
            return self
        return replace(self, cov=keep_from.value, bars=self.bars.since(keep_from.value))


def waiting_from_rows(rows: list[Any]) -> tuple[Waiting, ...]:
    """Return pending detections from rows of (id, ts, close_micros, direction, horizon or
    None), one row per stored outcome, ordered by ts then id."""
    out: dict[int, list[Any]] = {}
    for r in rows:
        w = out.get(r[0])
        if w is None:
            out[r[0]] = w = [r[1], r[2], r[3], []]
        if r[4] is not None:
            w[3].append(int(r[4]))
    ts = pd.DatetimeIndex([w[0] for w in out.values()]).as_unit("ns").asi8 if out else []
    return tuple(Waiting(i, int(t), int(w[1]), int(w[2]), len(w[3]), frozenset(w[3]))
                 for (i, w), t in zip(out.items(), ts, strict=True))
