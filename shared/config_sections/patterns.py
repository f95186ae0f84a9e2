"""Settings of the patterns area (see config/default.yaml, section `patterns`).

The detector fields mirror ``services.pattern_analysis.domain.PatternParams``; distances are
multiples of ATR unless the name says otherwise.
"""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every patterns setting with its default."""

    default_timeframe: Literal["1m", "5m", "15m", "1h", "1d"] = "1m"
    lookback_bars: int = Field(390, ge=30, le=5000)
    scan_max_symbols: int = Field(500, ge=1, le=5000)
    #: Megabytes of analysed windows (``lookback_bars`` bars per symbol and timeframe) kept
    #: between analyses, least recently used dropped first: about 80 windows of 390 1m bars,
    #: a workflow cycle's candidates and then some.  Each analysis then reads only the bars
    #: since; a window not kept is read whole again (same result, one longer read).
    cache_max_mb: float = Field(2.0, gt=0, le=4096)
    # GET re-analyses when a newer bar is visible than the one last analysed
    refresh_on_read: bool = True
    atr_period: int = Field(14, ge=2, le=200)
    pivot_window: int = Field(3, ge=1, le=20)
    min_swing_atr: float = Field(2.0, gt=0)
    volume_lookback: int = Field(20, ge=2, le=500)
    breakout_rel_volume: float = Field(1.5, gt=0)
    break_buffer_atr: float = Field(0.1, ge=0)
    level_tolerance_atr: float = Field(1.0, gt=0)
    min_level_touches: int = Field(2, ge=2, le=20)
    max_levels: int = Field(8, ge=1, le=50)
    trendline_min_pivots: int = Field(3, ge=2, le=20)
    trendline_max_pivots: int = Field(6, ge=2, le=50)
    line_tolerance_atr: float = Field(1.0, gt=0)
    line_tolerance_height: float = Field(0.05, ge=0, le=1)
    min_pattern_height_atr: float = Field(6.0, gt=0)
    peak_tolerance_atr: float = Field(1.0, gt=0)
    head_min_atr: float = Field(1.0, ge=0)
    flat_slope_atr: float = Field(1.0, ge=0)
    flat_ratio: float = Field(0.2, gt=0, lt=1)
    triangle_pivots: int = Field(6, ge=5, le=6)
    triangle_tolerance_atr: float = Field(0.6, gt=0)
    triangle_max_end_width: float = Field(0.6, gt=0, le=1)
    max_pattern_bars: int = Field(200, ge=10)
    pole_min_atr: float = Field(10.0, gt=0)
    pole_max_bars: int = Field(25, ge=2)
    flag_min_bars: int = Field(5, ge=2)
    flag_max_bars: int = Field(40, ge=3)
    flag_max_retrace: float = Field(0.5, gt=0, le=1)
    gap_min_atr: float = Field(0.5, gt=0)
    expiry_bars: int = Field(60, ge=1)
    min_confidence: float = Field(0.5, ge=0, le=1)
