"""The base model of every settings section: frozen and strict about unknown keys."""
from __future__ import annotations

from pydantic import BaseModel, ConfigDict


class StrictModel(BaseModel):
    """Frozen, no extra keys, values validated on assignment."""

    model_config = ConfigDict(extra="forbid", frozen=True, validate_default=True)
