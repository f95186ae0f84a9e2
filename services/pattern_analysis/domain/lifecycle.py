"""What happened after a pattern formed: confirmation, target, invalidation, expiry.

Written in the bullish orientation (break *above* a line, target above, invalidation below);
bearish patterns are resolved on mirrored bars.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from services.pattern_analysis.domain.lines import Line
from services.pattern_analysis.domain.model import Derived, Status


@dataclass(frozen=True)
class Resolution:
    status: Status
    confirm_idx: int  # -1 when not confirmed
    resolved_idx: int  # bar of completion/invalidation/expiry, -1 while open
    breakout_price: float  # the line's value at the confirming bar (or at the last bar)
    target: float
    rel_volume: float  # relative volume of the confirming bar (0 when unconfirmed)


def _first(mask: np.ndarray) -> int:
    if len(mask) == 0:
        return -1
    k = int(np.argmax(mask))
    return k if mask[k] else -1


def resolve(bars: Derived, start: int, line: Line, height: float, invalidation: float,
            buffer: float, expiry_bars: int, *, check_before: bool = True) -> Resolution:
    """Return the pattern's status given the bars from ``start`` (its first bar after forming).

    Confirmed at the first close above ``line`` + ``buffer``; invalidated by a close under
    ``invalidation`` first (closes, not wicks, decide, as traders judge patterns on closes);
    expired after ``expiry_bars`` bars without either.  After confirmation it completes when a
    high reaches the measured-move target (breakout price + ``height``) and is invalidated by
    a close under ``invalidation`` before that.  ``check_before=False`` skips the pre-breakout
    check (for breakouts, which are found at their confirming bar).
    """
    n = len(bars)
    last_line = float(line.at(n - 1))
    if start >= n:
        return Resolution(Status.FORMING, -1, -1, last_line, last_line + height, 0.0)
    idx = np.arange(start, n)
    conf = _first(bars.close[start:] > line.at(idx) + buffer)
    inval = _first(bars.close[start:] < invalidation) if check_before else -1
    horizon = expiry_bars if conf < 0 else conf
    if inval >= 0 and (conf < 0 or inval <= conf) and inval <= horizon:
        at = start + inval
        return Resolution(Status.INVALIDATED, -1, at, float(line.at(at)),
                          float(line.at(at)) + height, 0.0)
    if conf < 0 or conf > expiry_bars:
        if n - start > expiry_bars:
            at = start + expiry_bars
            return Resolution(Status.EXPIRED, -1, at, float(line.at(at)),
                              float(line.at(at)) + height, 0.0)
        return Resolution(Status.FORMING, -1, -1, last_line, last_line + height, 0.0)
    c = start + conf
    brk = float(line.at(c))
    target = brk + height
    after = c + 1
    done = _first(bars.high[after:] >= target)
    failed = _first(bars.close[after:] < invalidation)
    rel = float(bars.rel_vol[c])
    if done >= 0 and (failed < 0 or done <= failed):
        return Resolution(Status.COMPLETED, c, after + done, brk, target, rel)
    if failed >= 0:
        return Resolution(Status.INVALIDATED, c, after + failed, brk, target, rel)
    return Resolution(Status.CONFIRMED, c, -1, brk, target, rel)
