"""Chart-pattern analysis as pure functions over bar arrays (no Flask, no sqlite3).

``analyze(df, params)`` returns support/resistance levels and every detection: double tops and
bottoms, head-and-shoulders and inverse, ascending/descending/symmetric triangles, bull/bear
flags and pennants, volume-confirmed breakouts/breakdowns, gaps, trendlines and channels.
Each detection carries its bars, key prices and a confidence with the measurements behind it.
"""
from services.pattern_analysis.domain.analyze import (
    PATTERNS,
    Analysis,
    analyze,
    analyze_bars,
    reassess,
    unfollowed,
)
from services.pattern_analysis.domain.model import (
    Derived,
    Detection,
    Direction,
    Level,
    PatternParams,
    Pivot,
    Status,
)
from services.pattern_analysis.domain.pivots import fractal_pivots, zigzag

__all__ = [
    "PATTERNS",
    "Analysis",
    "Derived",
    "Detection",
    "Direction",
    "Level",
    "PatternParams",
    "Pivot",
    "Status",
    "analyze",
    "analyze_bars",
    "fractal_pivots",
    "reassess",
    "unfollowed",
    "zigzag",
]
