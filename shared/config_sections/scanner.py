"""Settings of the scanner area (see config/default.yaml, section `scanner`)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field

from shared.config_sections._base import StrictModel


def _default_presets() -> dict[str, dict[str, Any]]:
    return {
        "gappers": {"min_price": 2, "max_price": 500, "min_avg_volume": 100_000,
                    "min_gap_pct": 4, "min_rvol": 1.5},
        "momentum": {"min_price": 5, "min_avg_volume": 200_000, "min_change_pct": 3,
                     "above_vwap": True, "min_rsi": 55, "min_rvol": 1.2},
        "reversal": {"min_price": 5, "min_avg_volume": 200_000, "max_rsi": 30,
                     "max_change_pct": -3, "below_vwap": True},
        "unusual_volume": {"min_price": 2, "min_avg_volume": 50_000, "min_rvol": 3},
    }


class Section(StrictModel):
    """Every scanner setting with its default."""

    timeframe: Literal["1m", "5m", "15m"] = "5m"
    #: Daily bars read for average volume, ATR and N-day highs/lows.
    daily_lookback_days: int = Field(60, ge=5, le=400)
    avg_volume_days: int = Field(20, ge=1, le=250)
    rvol_sessions: int = Field(10, ge=1, le=60)
    rsi_period: int = Field(14, ge=2, le=100)
    atr_period: int = Field(14, ge=1, le=100)
    change_window_bars: int = Field(12, ge=1, le=1000)
    new_high_days: int = Field(20, ge=2, le=250)
    max_results: int = Field(50, ge=1, le=5000)
    exclude: list[str] = []
    presets: dict[str, dict[str, Any]] = Field(default_factory=_default_presets)
