"""HTTP routes of the Technical analysis service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from flask import Blueprint


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    return []
