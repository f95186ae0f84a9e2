"""Settings of the patterns area (see config/default.yaml, section `patterns`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every patterns setting with its default."""
