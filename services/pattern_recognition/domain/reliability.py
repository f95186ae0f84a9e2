"""Walk-forward reliability of candlestick patterns: forward returns and their statistics.

A detection on bar t (entry at its close) has a k-bar outcome ``close[t+k] / close[t] - 1``
that becomes known only when bar t+k closes (``available_at``).  Statistics "as of" a time T
use only outcomes available by T, so no statistic ever reads a bar after the time it is shown.
The sign of the outcome is flipped for bearish detections (``signed_ret``): a hit is a signed
return above zero.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Outcome:
    """The k-bar forward return of detection number ``index`` (in the caller's list)."""

    index: int
    horizon: int
    bar: int  # position of bar t+k among the given bars
    ret: float
    signed_ret: float
    available_at_ns: int


def forward_outcomes(det_ts_ns: np.ndarray, det_close: np.ndarray, det_direction: np.ndarray,
                     bar_ts_ns: np.ndarray, bar_close: np.ndarray, bar_end_ns: np.ndarray,
                     horizons: list[int], skip: np.ndarray | None = None) -> list[Outcome]:
    """Return every outcome whose forward bar is among the given (visible) bars.

    ``bar_ts_ns`` are the open times of the visible bars, sorted, and ``bar_end_ns`` their
    close times (when bar t+k closes the outcome is known); a detection whose bar is not
    among them, or whose bar t+k is not yet there, gets no outcome for that horizon.
    ``skip`` (detections x horizons, bool) leaves out the outcomes flagged in it (those the
    caller already holds).
    """
    det_ts_ns = np.asarray(det_ts_ns, dtype="int64")
    bar_ts_ns = np.asarray(bar_ts_ns, dtype="int64")
    n = len(bar_ts_ns)
    if n == 0 or len(det_ts_ns) == 0:
        return []
    pos = np.searchsorted(bar_ts_ns, det_ts_ns)
    found = (pos < n) & (bar_ts_ns[np.minimum(pos, n - 1)] == det_ts_ns)
    out: list[Outcome] = []
    for h, k in enumerate(horizons):
        ok = found & (pos + k < n)
        if skip is not None:
            ok &= ~skip[:, h]
        for i in np.flatnonzero(ok):
            entry = float(det_close[i])
            if entry <= 0:
                continue
            j = int(pos[i]) + k
            ret = float(bar_close[j]) / entry - 1.0
            out.append(Outcome(index=int(i), horizon=k, bar=j, ret=ret,
                               signed_ret=ret * float(det_direction[i]),
                               available_at_ns=int(bar_end_ns[j])))
    return out


@dataclass(frozen=True)
class PatternStats:
    """Reliability of one pattern (or group) at one horizon."""

    samples: int
    hit_rate: float | None
    avg_return: float | None     # mean raw forward return
    avg_signed: float | None     # mean return in the pattern's direction (= expectancy)
    avg_win: float | None
    avg_loss: float | None
    expectancy: float | None
    std: float | None

    @classmethod
    def from_sums(cls, samples: int, wins: int, losses: int, sum_win: float, sum_loss: float,
                  sum_ret: float, sum_signed: float, sum_signed_sq: float) -> PatternStats:
        """Return the statistics from running sums (what SQL aggregates give)."""
        if samples <= 0:
            return cls(0, None, None, None, None, None, None, None)
        hit = wins / samples
        avg_win = sum_win / wins if wins else None
        avg_loss = sum_loss / losses if losses else None
        # Expectancy = P(win) * avg win + P(loss) * avg loss; flat outcomes add zero, so it
        # equals the mean signed return.
        expectancy = (hit * (avg_win or 0.0)) + (losses / samples) * (avg_loss or 0.0)
        mean = sum_signed / samples
        var = max(sum_signed_sq / samples - mean * mean, 0.0)
        return cls(samples=samples, hit_rate=hit, avg_return=sum_ret / samples,
                   avg_signed=mean, avg_win=avg_win, avg_loss=avg_loss,
                   expectancy=expectancy, std=math.sqrt(var))

    def to_dict(self) -> dict[str, float | int | None]:
        return {"samples": self.samples, "hit_rate": self.hit_rate,
                "avg_return": self.avg_return, "avg_win": self.avg_win,
                "avg_loss": self.avg_loss, "expectancy": self.expectancy, "std": self.std}


def summarize(signed_returns: np.ndarray, raw_returns: np.ndarray | None = None) -> PatternStats:
    """Return the statistics of a set of signed forward returns."""
    s = np.asarray(signed_returns, dtype="float64")
    r = s if raw_returns is None else np.asarray(raw_returns, dtype="float64")
    wins, losses = s[s > 0], s[s < 0]
    return PatternStats.from_sums(
        samples=len(s), wins=len(wins), losses=len(losses), sum_win=float(wins.sum()),
        sum_loss=float(losses.sum()), sum_ret=float(r.sum()), sum_signed=float(s.sum()),
        sum_signed_sq=float((s * s).sum()))
