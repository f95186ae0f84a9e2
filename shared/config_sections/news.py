"""Settings of the news area (see config/default.yaml, section `news`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every news setting with its default."""
