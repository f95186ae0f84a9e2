"""Settings of the scanner area (see config/default.yaml, section `scanner`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every scanner setting with its default."""
