"""Settings of the paper trading area (see config/default.yaml, section `paper_trading`)."""
from __future__ import annotations

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """Every paper trading setting with its default."""
