"""Pure candlestick logic: TA-Lib pattern detection and walk-forward reliability statistics."""
from services.pattern_recognition.domain.candles import (
    PATTERNS,
    Detection,
    DetectionArrays,
    detect_arrays,
    detect_frame,
    pattern_matrix,
    tod_buckets,
)
from services.pattern_recognition.domain.reliability import (
    Outcome,
    PatternStats,
    forward_outcomes,
    summarize,
)

__all__ = [
    "PATTERNS",
    "Detection",
    "DetectionArrays",
    "Outcome",
    "PatternStats",
    "detect_arrays",
    "detect_frame",
    "forward_outcomes",
    "pattern_matrix",
    "summarize",
    "tod_buckets",
]
