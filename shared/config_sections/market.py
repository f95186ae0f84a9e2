"""Settings of the market area (see config/default.yaml, section `market`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every market setting with its default."""
