"""The reversal pre-filters only skip candidates the exact checks reject: with them switched
off (every candidate checked) the detectors find exactly the same patterns."""
from __future__ import annotations

import importlib

import pytest

from services.pattern_analysis.domain import Derived, PatternParams
from services.pattern_analysis.domain.pivots import zigzag
from tests.services.pattern_analysis.planted import DOUBLE_TOP, HEAD_SHOULDERS, SPIKE, mirror
from tests.services.pattern_analysis.series import path_frame, random_walk

reversals = importlib.import_module("services.pattern_analysis.domain.reversals")


def _cases() -> list[Derived]:
    frames = [random_walk(seed, n=390, sigma=0.05 + 0.03 * (seed % 4)) for seed in range(12)]
    for s in range(3):
        frames.append(path_frame(DOUBLE_TOP + [(230, 92), (300, 99)], seed=s,
                                 spikes={i: SPIKE for i in range(146, 156)}))
        frames.append(path_frame(HEAD_SHOULDERS + [(300, 97)], seed=s + 3))
        frames.append(path_frame(mirror(HEAD_SHOULDERS) + [(300, 103)], seed=s + 6))
    return [Derived.from_frame(df) for df in frames]


@pytest.mark.parametrize("mirrored", [False, True])
def test_prefilters_skip_only_rejected_candidates(monkeypatch, mirrored):
    params = PatternParams(min_pattern_height_atr=3.0)  # looser: more candidates reach the end
    found = {"filtered": [], "all": []}
    for bars in _cases():
        bars = bars.mirror() if mirrored else bars
        zz = zigzag(bars, params.pivot_window, params.min_swing_atr)
        with monkeypatch.context() as m:
            found["filtered"].append((reversals.double_bottoms(bars, zz, params),
                                      reversals.inverse_head_and_shoulders(bars, zz, params)))
            m.setattr(reversals, "_maybe_double", lambda *_a: None)
            m.setattr(reversals, "_maybe_ihs", lambda _b, z, _p: list(range(len(z) - 4)))
            found["all"].append((reversals.double_bottoms(bars, zz, params),
                                 reversals.inverse_head_and_shoulders(bars, zz, params)))
    assert repr(found["filtered"]) == repr(found["all"])
    assert sum(len(d) + len(h) for d, h in found["all"]) > 0  # the comparison saw patterns
