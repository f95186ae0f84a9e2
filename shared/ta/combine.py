"""Weighted combination of strategy signals into one score per symbol."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from shared.ta.strategies import Signal


@dataclass(frozen=True)
class Combined:
    """The weighted mean of the strategies' scores and the direction it implies."""

    score: float
    direction: str
    contributions: tuple[dict[str, Any], ...]

    def to_dict(self) -> dict[str, Any]:
        return {"score": round(self.score, 6), "direction": self.direction,
                "contributions": list(self.contributions)}


def combine(signals: Sequence[Signal], weights: Mapping[str, float], *,
            long_threshold: float = 0.25, short_threshold: float = -0.25) -> Combined:
    """Return sum(w * score) / sum(w) over ``signals`` (flat ones count as 0).

    Every evaluated strategy's weight is in the denominator, so one strategy firing alone
    moves the total by its share only; ``direction`` is long/short past the thresholds.
    """
    total_w = sum(max(weights.get(s.strategy, 1.0), 0.0) for s in signals)
    parts = []
    acc = 0.0
    for s in signals:
        w = max(weights.get(s.strategy, 1.0), 0.0)
        acc += w * s.score
        parts.append({"strategy": s.strategy, "weight": w, "score": round(s.score, 6),
                      "contribution": round(w * s.score / total_w, 6) if total_w else 0.0})
    score = max(-1.0, min(1.0, acc / total_w)) if total_w else 0.0
    direction = ("long" if score >= long_threshold else
                 "short" if score <= short_threshold else "flat")
    return Combined(score, direction, tuple(parts))
