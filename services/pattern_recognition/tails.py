"""What the service keeps between updates of one (symbol, timeframe): its recent bars and the
detections still waiting for outcomes, so an update every bar reads only the new bars.

A ``Tail`` is a snapshot of the database (``candle_progress``'s row, the pending detections
and their outcome counts) plus every visible bar from ``cov`` on (as ``BarArrays``; their
close times are ``feed.bar_end_ns`` of their open times); it is trusted only while the
progress row still reads ``version`` (every write to the symbol changes it), and the service
falls back to reading everything when it does not, or when the bars it needs start before
``cov``.  Frozen: a new one replaces the old after each committed write.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pandas as pd

from shared.market.frames import BarArrays


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
    bars: BarArrays
    waiting: tuple[Waiting, ...]      # by bar time
    latest: tuple[Any, ...] | None    # the rows on the last bar (None: not known, ask the DB)

    @property
    def nbytes(self) -> int:
        """Bytes held: the bars' arrays, and ~200 per pending detection (a frozen dataclass
        with its horizons' frozenset), for ``TailStore``'s bound."""
        return self.bars.nbytes + 200 * len(self.waiting)

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
