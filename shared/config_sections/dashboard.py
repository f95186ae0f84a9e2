"""Settings of the dashboard area (see config/default.yaml, section `dashboard`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every dashboard setting with its default."""
