"""Settings of the technical area (see config/default.yaml, section `technical`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field, model_validator

from shared.config_sections._base import StrictModel

TimeframeName = Literal["1m", "5m", "15m", "1h", "1d"]


class StrategyConfig(StrictModel):
    """One named strategy: its kind (default: its name), weight, timeframe and parameters;
    or, with ``file`` (``path/to/file.py:ClassName``, relative to the repository), a user's
    strategy class (docs/STRATEGIES.md), the same one ``replay --strategy`` runs."""

    kind: str | None = None
    file: str | None = None
    enabled: bool = True
    weight: float = Field(1.0, ge=0, le=100)
    timeframe: TimeframeName | None = None
    params: dict[str, float | int | str | bool] = {}


def _default_strategies() -> dict[str, StrategyConfig]:
    return {
        "sma_cross": StrategyConfig(params={"fast": 10, "slow": 30}),
        "ema_cross": StrategyConfig(params={"fast": 9, "slow": 21}),
        "macd_cross": StrategyConfig(params={"fast": 12, "slow": 26, "signal": 9}),
        "rsi_reversion": StrategyConfig(params={"period": 14, "oversold": 30, "overbought": 70}),
        "bbands_breakout": StrategyConfig(params={"period": 20, "nbdev": 2.0}),
        "stochrsi_ema": StrategyConfig(params={"rsi_period": 14, "fastk": 5, "fastd": 3,
                                               "ema_period": 50}),
        "vwap_reclaim": StrategyConfig(params={"nbdev": 1.0}),
        "opening_range_breakout": StrategyConfig(params={"minutes": 15}),
    }


class Section(StrictModel):
    """Every technical setting with its default."""

    default_timeframe: TimeframeName = "5m"
    #: Calendar days of history read per timeframe when a series is first built.
    history_days: dict[TimeframeName, int] = {"1m": 5, "5m": 16, "15m": 30, "1h": 90, "1d": 500}
    default_battery: list[str] = ["SMA:20", "EMA:20", "RSI:14", "MACD", "BBANDS:20", "ATR:14",
                                  "STOCH", "STOCHRSI:14", "ADX:14", "OBV", "VWAP"]
    max_batch_symbols: int = Field(1000, ge=1, le=10000)
    max_series_length: int = Field(100_000, ge=10)
    max_indicators: int = Field(50, ge=1, le=500)
    #: Megabytes of bars and indicator outputs the series cache keeps (least recently used
    #: series dropped first): about 36 series of a 5m battery, three cycles' candidates.
    cache_max_mb: float = Field(8.0, gt=0, le=4096)
    #: Bars kept per cached series (older ones are dropped).
    cache_max_bars: int = Field(5000, ge=100)
    store_signals: bool = True
    long_threshold: float = Field(0.25, gt=0, le=1)
    short_threshold: float = Field(-0.25, ge=-1, lt=0)
    strategies: dict[str, StrategyConfig] = Field(default_factory=_default_strategies)
    #: Folders (relative to the repository, or absolute) a user strategy may be added from at
    #: run time (POST /api/v1/strategies), besides docs/strategies; no other path is loaded.
    user_strategy_dirs: list[str] = ["strategies"]

    @model_validator(mode="after")
    def _history(self) -> Section:
        missing = {"1m", "5m", "15m", "1h", "1d"} - set(self.history_days)
        if missing:
            raise ValueError(f"history_days lacks {sorted(missing)}")
        return self
