"""Settings of the technical area (see config/default.yaml, section `technical`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every technical setting with its default."""
