"""Settings of the coordination area (see config/default.yaml, section `coordination`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every coordination setting with its default."""
