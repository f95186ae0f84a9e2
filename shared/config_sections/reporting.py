"""Settings of the reporting area (see config/default.yaml, section `reporting`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every reporting setting with its default."""
