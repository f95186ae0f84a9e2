"""Settings of the reporting area (see config/default.yaml, section `reporting`)."""
from __future__ import annotations

from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import Field, field_validator

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every reporting setting with its default."""

    # annual risk-free rate for Sharpe and Sortino, taken per period as rate / periods_per_year
    risk_free_rate: float = Field(0.0, ge=-0.5, le=1.0)
    periods_per_year: int = Field(252, ge=1, le=366)
    # annualizing a handful of days says little: below this many daily returns it is not given
    annualize_min_days: int = Field(30, ge=1)
    # days, time-of-day buckets and the HTML report's clock are in this zone
    timezone: str = "America/New_York"
    time_bucket_minutes: int = Field(30, ge=1, le=720)
    # bars read for the trades' maximum adverse and favourable excursion
    excursion_timeframe: Literal["1m", "5m", "15m", "1h", "1d"] = "1m"
    max_trades: int = Field(1000, ge=1, le=100_000)  # page size cap of /trades
    report_title: str = "Paper trading report"

    @field_validator("timezone")
    @classmethod
    def _zone(cls, v: str) -> str:
        try:
            ZoneInfo(v)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {v!r}") from None
        return v
