"""The planted patterns the tests look for: pivot prices, breakout bars and expected key prices.

Each entry is (points, volume spike bars, expected pattern, expected key prices).  Bottom
patterns are the top patterns mirrored about 200 (price -> 200 - price).
"""
from __future__ import annotations

SPIKE = 3.0


def mirror(points: list[tuple[int, float]]) -> list[tuple[int, float]]:
    return [(i, 200.0 - p) for i, p in points]


DOUBLE_TOP = [(0, 95), (60, 100), (90, 97), (120, 100), (150, 96.5), (180, 94)]
HEAD_SHOULDERS = [(0, 94), (40, 99), (60, 97), (90, 101), (120, 97), (150, 99), (175, 96.8),
                  (200, 93)]
ASCENDING = [(0, 95), (30, 100), (50, 96), (80, 100), (100, 97.5), (125, 100), (140, 98.5),
             (155, 100.8), (200, 104)]
SYMMETRIC = [(0, 95), (30, 104), (55, 96), (80, 103), (100, 97), (120, 102), (135, 98),
             (150, 101), (200, 107)]
BULL_FLAG = [(0, 95), (40, 95.5), (60, 101), (90, 99.5), (95, 102), (130, 106)]
# The same pole, then swings narrowing symmetrically about 100.3 (tops 101 -> 100.75 -> 100.5
# on an upper line falling 1/48 a bar, bottoms 99.6 -> 99.95 -> 100.15 on a rising lower line)
# until a break out at bar ~91, where the upper line is at 100.35 (+ ~0.15 of wicks).
BULL_PENNANT = [(0, 95), (40, 95.5), (60, 101), (66, 99.6), (72, 100.75), (78, 99.95),
                (84, 100.5), (90, 100.15), (95, 102), (130, 106)]
RANGE_BREAKOUT = [(0, 99), (20, 100), (40, 98), (60, 100), (80, 98), (100, 100), (120, 98.2),
                  (140, 99.9), (150, 102), (200, 104)]

#: name -> (points, spike bars, pattern, {key price: expected}, tolerance)
CASES = {
    "double_top": (DOUBLE_TOP, range(146, 156), "double_top",
                   {"neckline": 97.0, "target": 94.0, "invalidation": 100.0}, 0.6),
    "double_bottom": (mirror(DOUBLE_TOP), range(146, 156), "double_bottom",
                      {"neckline": 103.0, "target": 106.0, "invalidation": 100.0}, 0.6),
    "head_and_shoulders": (HEAD_SHOULDERS, range(168, 180), "head_and_shoulders",
                           {"neckline": 97.0, "target": 93.0, "invalidation": 99.0}, 0.6),
    "inverse_head_and_shoulders": (mirror(HEAD_SHOULDERS), range(168, 180),
                                   "inverse_head_and_shoulders",
                                   {"neckline": 103.0, "target": 107.0, "invalidation": 101.0},
                                   0.6),
    "ascending_triangle": (ASCENDING, range(148, 158), "ascending_triangle",
                           {"breakout_level": 100.1, "target": 104.8}, 0.7),
    "descending_triangle": (mirror(ASCENDING), range(148, 158), "descending_triangle",
                            {"breakout_level": 99.9, "target": 95.2}, 0.7),
    "symmetric_triangle": (SYMMETRIC, range(138, 150), "symmetric_triangle",
                           # height is measured between the lines at the first pivot
                           {"target": 110.2}, 0.6),
    "bull_flag": (BULL_FLAG, range(88, 96), "bull_flag",
                  {"breakout_level": 99.7, "target": 105.6, "invalidation": 99.4}, 0.5),
    "bear_flag": (mirror(BULL_FLAG), range(88, 96), "bear_flag",
                  {"breakout_level": 100.3, "target": 94.4, "invalidation": 100.6}, 0.5),
    # pole = pole top (101) - lowest low of the pole_max_bars before it (~95.4)
    "bull_pennant": (BULL_PENNANT, range(90, 98), "bull_pennant",
                     {"breakout_level": 100.5, "target": 106.2, "invalidation": 99.5}, 0.4),
    "bear_pennant": (mirror(BULL_PENNANT), range(90, 98), "bear_pennant",
                     {"breakout_level": 99.5, "target": 93.8, "invalidation": 100.5}, 0.4),
    "breakout": (RANGE_BREAKOUT, range(140, 146), "breakout", {"breakout_level": 100.0}, 0.2),
}
