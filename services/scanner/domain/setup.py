"""The setup score: how much a symbol is "in play" for a day trader, whatever the filters.

Three parts, each 0-5 points and saturating (a bigger value always scores more, never past 5,
so one extreme value cannot drown the others):

- ``gap``: the open's gap from the previous close, either way (3 % is about 3.2 points);
- ``rvol``: the session's volume so far against the same minutes of earlier sessions, above
  normal only (1.5x is about 3.2 points; normal or less is 0);
- ``move``: the change over the last ``change_window_bars`` bars, either way (3 % is about
  3.2 points).

A missing metric (no previous day, too few sessions) gives 0 points for its part.
"""
from __future__ import annotations

from typing import Any

import numpy as np

CAP = 5.0
#: part -> (panel attribute, value above the baseline that gives CAP * (1 - 1/e) points)
PARTS: dict[str, tuple[str, float, float]] = {
    "gap": ("abs_gap_pct", 0.0, 3.0),
    "rvol": ("rvol", 1.0, 0.5),
    "move": ("abs_change_pct", 0.0, 3.0),
}


def setup_points(panel: Any) -> dict[str, np.ndarray]:
    """Return each part's points per symbol (S values each, 0 to ``CAP``)."""
    out = {}
    for part, (attr, base, scale) in PARTS.items():
        x = np.clip(np.nan_to_num(getattr(panel, attr), nan=base) - base, 0.0, None)
        out[part] = CAP * (1.0 - np.exp(-x / scale))
    return out
