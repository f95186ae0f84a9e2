"""Settings of the candlesticks area (see config/default.yaml, section `candlesticks`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, field_validator

from shared.config_sections._base import StrictModel

TimeframeName = Literal["1m", "5m", "15m", "1h", "1d"]


class Section(StrictModel):
    """Every candlestick (pattern recognition) setting with its default."""

    default_timeframe: TimeframeName = "5m"
    # Forward-return horizons (in bars) the reliability statistics are measured at.
    horizons: list[int] = [1, 5, 20]
    # Time-of-day buckets (minutes, in exchange time) for the by-time-of-day statistics.
    tod_bucket_minutes: int = Field(30, ge=1, le=390)
    exchange_tz: str = "America/New_York"
    # Bars loaded before the first new bar so TA-Lib's rolling candle averages are warm.
    warmup_bars: int = Field(40, ge=15, le=500)
    # How far back a symbol's history is scanned the first time it is seen.
    backfill_days: int = Field(10, ge=1, le=3650)
    max_scan_symbols: int = Field(500, ge=1, le=10000)
    #: Megabytes of symbols' recent bars and pending detections kept between updates
    #: (``incremental.TailStore``), least recently used dropped first.  An update of a symbol
    #: whose tail is kept reads only the bars since; one not kept reads its whole window
    #: (and stores exactly the same rows).
    cache_max_mb: float = Field(4.0, gt=0, le=4096)
    max_detections: int = Field(5000, ge=1, le=100000)
    # Statistics with fewer samples than this are reported but flagged as thin.
    min_samples: int = Field(30, ge=1)

    @field_validator("horizons")
    @classmethod
    def _horizons(cls, v: list[int]) -> list[int]:
        if not v or any(h < 1 or h > 500 for h in v):
            raise ValueError("horizons must be a non-empty list of bar counts in 1..500")
        return sorted(set(v))
