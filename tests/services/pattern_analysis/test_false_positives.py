"""False positives on pattern-free data: 200 seeded Gaussian random walks of 390 one-minute bars.

A random walk holds no pattern, so any detection reported at the default ``min_confidence``
is a false positive.  The rate is the share of walks with at least one such detection of a
pattern.  Stated limits (measured rates at the time of writing in brackets):

* double top/bottom, head-and-shoulders and inverse, bull/bear flags: <= 6 % (1-3.5 %)
* bull/bear pennants: <= 6 % (0-1 %)
* ascending and descending triangles: <= 12 % (6.5-8 %)
* symmetric triangles: <= 25 % (17.5 %) - the weakest detector: converging swings are common
  in noise
* volume-confirmed breakouts and breakdowns: <= 12 % (5.5-8.5 %)

Trendlines, channels, levels and gaps describe geometry that every series has, so they are not
counted as false positives.
"""
from __future__ import annotations

from collections import Counter

import pytest

from services.pattern_analysis.domain import analyze
from tests.services.pattern_analysis.series import random_walk

WALKS = 200
LIMITS = {
    "double_top": 0.06, "double_bottom": 0.06,
    "head_and_shoulders": 0.06, "inverse_head_and_shoulders": 0.06,
    "bull_flag": 0.06, "bear_flag": 0.06, "bull_pennant": 0.06, "bear_pennant": 0.06,
    "ascending_triangle": 0.12, "descending_triangle": 0.12, "symmetric_triangle": 0.25,
    "breakout": 0.12, "breakdown": 0.12,
}


@pytest.fixture(scope="module")
def rates() -> dict[str, float]:
    seen: Counter[str] = Counter()
    for seed in range(WALKS):
        seen.update({d.pattern for d in analyze(random_walk(seed)).detections})
    return {p: seen[p] / WALKS for p in LIMITS}


@pytest.mark.parametrize("pattern", sorted(LIMITS))
def test_false_positive_rate_on_random_walks(rates: dict[str, float], pattern: str) -> None:
    assert rates[pattern] <= LIMITS[pattern], (
        f"{pattern} reported on {rates[pattern]:.1%} of random walks (limit {LIMITS[pattern]:.0%})")
