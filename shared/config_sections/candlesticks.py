"""Settings of the candlesticks area (see config/default.yaml, section `candlesticks`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every candlestick (pattern recognition) setting with its default."""
