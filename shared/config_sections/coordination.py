"""Settings of the coordination area (see config/default.yaml, section `coordination`).

``strategy`` holds the defaults of the live strategy settings: coordination copies them into
its own table on first use, and ``PATCH /api/v1/strategy`` changes them there without a
restart (every change logged with its old and new value).
"""
from __future__ import annotations

from decimal import Decimal
from typing import Literal

from pydantic import ConfigDict, Field, model_validator

from shared.config_sections._base import StrictModel

#: the documented range of each source's weight (the blend renormalises them)
MAX_WEIGHT = 10.0
#: a static ceiling on dollar amounts; the account's equity is the real one
MAX_DOLLARS = Decimal("1000000000")


class _Finite(StrictModel):
    """No NaN or Infinity anywhere (JSON's NaN/Infinity literals and "Infinity" strings)."""

    model_config = ConfigDict(allow_inf_nan=False)


class Weights(_Finite):
    """How much each source's score (in [-1, 1]) counts in the blended score (0 to 10 each,
    at least one above 0)."""

    technical: float = Field(0.6, ge=0, le=MAX_WEIGHT)
    patterns: float = Field(0.2, ge=0, le=MAX_WEIGHT)
    candles: float = Field(0.1, ge=0, le=MAX_WEIGHT)
    news: float = Field(0.1, ge=0, le=MAX_WEIGHT)

    @model_validator(mode="after")
    def _some(self) -> Weights:
        if not any((self.technical, self.patterns, self.candles, self.news)):
            raise ValueError("at least one weight must be above 0 (all 0 would never trade)")
        return self


class Sizing(_Finite):
    """How many shares an entry buys or sells short."""

    # fixed: `fixed_dollars` of stock; percent: `equity_pct` of equity; risk: risk dollars /
    # (entry - stop) shares; all_in: the whole available equity (replay)
    method: Literal["fixed", "percent", "risk", "all_in"] = "risk"
    # money is exact (Decimal, a string in JSON); at most the account's equity (checked when set)
    fixed_dollars: Decimal = Field(Decimal("5000"), gt=0, le=MAX_DOLLARS)
    equity_pct: float = Field(10.0, gt=0, le=100)
    risk_pct: float = Field(0.5, gt=0, le=10)        # of equity, per trade (method risk)
    risk_dollars: Decimal | None = Field(None, gt=0, le=MAX_DOLLARS)  # overrides risk_pct
    max_position_pct: float = Field(20.0, gt=0, le=400)  # cap on one position's value
    stop_source: Literal["atr", "pattern"] = "atr"   # pattern falls back to ATR when none
    atr_multiple: float = Field(2.0, gt=0, le=50)
    reward_risk: float | None = Field(2.0, gt=0, le=50)  # take-profit at R x risk; null: none


class Strategy(_Finite):
    """The live strategy: weights, rules, sizing and exits (changed at run time via the API)."""

    weights: Weights = Weights()
    entry_threshold: float = Field(0.25, gt=0, le=1)   # |blended score| to enter
    exit_threshold: float = Field(0.15, ge=0, le=1)    # opposite blended score that exits
    block_news_below: float = Field(-0.5, ge=-1, le=1)  # no long entry on news this negative
    block_short_news_above: float = Field(0.5, ge=-1, le=1)  # no short entry on news this good
    allow_short: bool = True
    max_positions: int = Field(5, ge=1, le=500)
    max_candidates: int = Field(10, ge=1, le=500)      # scanner matches analysed per cycle
    # a scanner preset (checked against scanner.presets when changed); null: no preset
    scanner_preset: str | None = "day_trading"
    universe_limit: int | None = Field(None, ge=1, le=5000)  # scan only the first N symbols
    timeframe: Literal["1m", "5m", "15m", "1h", "1d"] = "5m"
    sizing: Sizing = Sizing()
    no_entry_minutes_before_close: int = Field(15, ge=0, le=390)
    flatten_minutes_before_close: int = Field(5, ge=0, le=390)
    max_holding_minutes: int | None = Field(120, ge=1, le=390)  # time exit; null: none

    @model_validator(mode="after")
    def _windows(self) -> Strategy:
        if self.flatten_minutes_before_close > self.no_entry_minutes_before_close:
            raise ValueError("flatten_minutes_before_close must not exceed "
                             "no_entry_minutes_before_close (entries after the flatten)")
        return self


class Section(StrictModel):
    """Every coordination setting with its default."""

    # start the workflow loop when the service boots (the runner's worker, never at import)
    autostart: bool = True
    cycle_every: Literal["bar", "minutes"] = "bar"  # bar: each bar of strategy.timeframe
    cycle_minutes: int = Field(5, ge=1, le=1440)
    poll_s: float = Field(0.2, gt=0, le=60)         # how often the loop reads the clock
    lease_ttl_s: float = Field(15.0, gt=1, le=600)  # the one-loop-per-suite DB lease
    # applied to the market clock when the automation starts at boot (a fresh, paused replay
    # clock only): a trading day in about 390 / (speed / 60) minutes of wall time
    start_clock_speed: float | None = Field(130.0, gt=0, le=1_000_000)
    call_timeout_s: float = Field(10.0, gt=0, le=300)  # each call to another service
    scan_timeout_s: float = Field(60.0, gt=0, le=600)
    max_workers: int = Field(6, ge=1, le=64)           # parallel calls per cycle
    snapshot: bool = True                               # ask reporting to snapshot each cycle
    max_runs_kept: int = Field(100_000, ge=10)
    strategy: Strategy = Strategy()
