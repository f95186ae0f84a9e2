"""Per-symbol news aggregates over a window: mean sentiment, count and abnormal volume."""
from __future__ import annotations

import math
import re
from dataclasses import dataclass
from datetime import timedelta

import numpy as np

_WINDOW = re.compile(r"^\s*(\d+)\s*(m|min|h|d|w)\s*$", re.I)
_UNIT = {"m": 1, "min": 1, "h": 60, "d": 1440, "w": 10080}


def parse_window(text: str) -> timedelta:
    """Return a window such as '30m', '4h', '1d' or '2w' as a timedelta.

    Raises:
        ValueError: when the text is not <number><m|h|d|w> or is zero or over a year.
    """
    m = _WINDOW.match(text or "")
    if not m:
        raise ValueError(f"window must look like 30m, 4h, 1d or 2w, was {text!r}")
    minutes = int(m.group(1)) * _UNIT[m.group(2).lower()]
    if minutes <= 0 or minutes > 366 * 1440:
        raise ValueError(f"window must be between 1 minute and 366 days, was {text!r}")
    return timedelta(minutes=minutes)


@dataclass(frozen=True)
class VolumeStats:
    count: int
    baseline_mean: float
    baseline_std: float
    ratio: float | None
    zscore: float | None
    abnormal: bool


def window_counts(times_ns: np.ndarray, now_ns: int, window_ns: int, windows: int) -> np.ndarray:
    """Return article counts per window back from ``now``: index 0 is ``(now - w, now]``."""
    t = np.asarray(times_ns, dtype="int64")
    age = now_ns - t
    t = age[(age >= 0) & (age < window_ns * windows)]
    return np.bincount((t // window_ns).astype("int64"), minlength=windows)[:windows]


def volume_stats(count: int, baseline: np.ndarray, min_count: int = 3,
                 z_threshold: float = 2.0, ratio_threshold: float = 3.0) -> VolumeStats:
    """Compare this window's count with earlier windows' counts.

    Abnormal means at least ``min_count`` stories and either a z-score of ``z_threshold`` or,
    when the baseline does not vary, ``ratio_threshold`` times its mean (or any news at all
    after a silent baseline).
    """
    b = np.asarray(baseline, dtype="float64")
    mean = float(b.mean()) if len(b) else 0.0
    std = float(b.std()) if len(b) else 0.0
    ratio = count / mean if mean > 0 else None
    z = (count - mean) / std if std > 0 else None
    if count < min_count:
        abnormal = False
    elif z is not None:
        abnormal = z >= z_threshold
    else:
        abnormal = ratio is None or ratio >= ratio_threshold
    return VolumeStats(count, mean, std, ratio, None if z is None or math.isnan(z) else z, abnormal)


@dataclass(frozen=True)
class SentimentSummary:
    count: int
    mean: float | None
    positive: int
    negative: int
    neutral: int


def summarize_scores(scores: list[float], labels: list[str]) -> SentimentSummary:
    """Return the mean score and the label counts of a window's articles."""
    return SentimentSummary(
        count=len(scores), mean=float(np.mean(scores)) if scores else None,
        positive=labels.count("positive"), negative=labels.count("negative"),
        neutral=labels.count("neutral"))
