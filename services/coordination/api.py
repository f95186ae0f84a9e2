"""HTTP routes of the Coordination service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from flask import Blueprint

from services.coordination.control_api import control_blueprint
from services.coordination.fundamentals_api import fundamentals_blueprint
from services.coordination.providers_api import providers_blueprint
from services.coordination.registry_api import registry_blueprint


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    return [registry_blueprint(), control_blueprint(), providers_blueprint(),
            fundamentals_blueprint()]
