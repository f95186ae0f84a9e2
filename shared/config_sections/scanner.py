"""Settings of the scanner area (see config/default.yaml, section `scanner`)."""
from __future__ import annotations

from typing import Any, Literal

from pydantic import Field, model_validator

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
        # liquid names in play: a gap, unusual volume or a move (any one of them)
        "day_trading": {"min_price": 5, "min_avg_dollar_volume": 20_000_000,
                        "min_abs_gap_pct": 1.5, "min_rvol": 1.3, "min_abs_change_pct": 1.5,
                        "any_of": ["min_abs_gap_pct", "min_rvol", "min_abs_change_pct"]},
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
    #: the preset of a scan that names none (the dashboard's and the automation's default);
    #: a scan sending ``"preset": null`` uses no preset
    default_preset: str | None = "day_trading"

    @model_validator(mode="after")
    def _default_known(self) -> Section:
        if self.default_preset is not None and self.default_preset not in self.presets:
            raise ValueError(f"default_preset '{self.default_preset}' is not one of the "
                             f"presets {sorted(self.presets)}")
        return self
