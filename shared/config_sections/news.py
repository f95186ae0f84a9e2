"""Settings of the news area (see config/default.yaml, section `news`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every news setting with its default."""

    # Where articles come from: the offline generator tied to the built-in market, Alpaca's
    # news API (needs alpaca keys), or a local RSS/Atom/JSON file.
    source: Literal["simulated", "alpaca", "file"] = "simulated"
    file_path: str | None = None
    seed: int = 7
    # A session gap or open-to-close move at least this large (fraction) makes a story.
    gap_threshold: float = Field(0.01, gt=0, lt=1)
    move_threshold: float = Field(0.025, gt=0, lt=1)
    # Chance per symbol and session of a routine (neutral) headline.
    routine_rate: float = Field(0.05, ge=0, le=1)
    # How far back a symbol's news is generated or fetched the first time it is asked for.
    backfill_days: int = Field(30, ge=1, le=3650)
    # Compound score at or beyond which an article is positive / negative.
    label_threshold: float = Field(0.05, gt=0, lt=1)
    # Two stories on a shared symbol within this many hours whose headlines are this similar
    # (token Jaccard) are one story.
    dedup_window_hours: float = Field(48.0, gt=0)
    near_duplicate_threshold: float = Field(0.8, gt=0, le=1)
    default_window: str = "1d"
    # Abnormal volume compares the window's count with the mean of this many earlier windows.
    baseline_windows: int = Field(20, ge=2, le=1000)
    default_limit: int = Field(50, ge=1, le=1000)
    max_limit: int = Field(1000, ge=1, le=10000)
    # Seconds of market-clock time between two automatic refreshes of one symbol's news.
    refresh_interval_s: float = Field(60.0, ge=0)
    alpaca_url: str | None = None
