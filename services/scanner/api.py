"""HTTP routes of the Scanner service (thin: parse, call one use case, serialize)."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint
from pydantic import BaseModel, ConfigDict, Field

from services.scanner.domain import Filters
from shared.web import current_service, ok, validate


class ScanBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    preset: str | None = Field(None, description=(
        "a preset of GET /scan/presets; left out: the default preset (scanner.default_preset, "
        "day_trading); null: no preset"))
    filters: Filters = Field(default_factory=Filters, description="applied over the preset")
    limit: int | None = Field(None, ge=1, le=5000)
    symbols: list[str] | None = Field(None, max_length=10_000,
                                      description="scan only these (default: the universe)")
    asset_class: Literal["equity", "crypto"] = Field(
        "equity", description="crypto: rank the crypto pairs (around the clock, UTC days)")


def blueprints() -> list[Blueprint]:
    """Return this service's blueprints (its endpoints live under /api/v1)."""
    bp = Blueprint("scanner", __name__, url_prefix="/api/v1")

    @bp.post("/scan")
    @validate(body=ScanBody, tags=["scan"], summary="Scan the universe with filters or a preset")
    def run_scan(body: ScanBody):  # type: ignore[no-untyped-def]
        overrides = body.filters.model_dump(exclude_defaults=True)
        svc = current_service()
        preset = body.preset if "preset" in body.model_fields_set else svc.default_preset
        return ok(svc.run_scan(preset, overrides, body.limit, body.symbols, body.asset_class))

    @bp.get("/scan/latest")
    @validate(tags=["scan"], summary="The newest stored scan with its ranked, explained matches")
    def latest():  # type: ignore[no-untyped-def]
        return ok(current_service().latest())

    @bp.get("/scan/presets")
    @validate(tags=["scan"], summary="The configured presets and their filters")
    def presets():  # type: ignore[no-untyped-def]
        return ok(current_service().list_presets())

    @bp.get("/scan/presets/default")
    @validate(tags=["scan"], summary="The preset a scan naming none uses, with its filters")
    def default_preset():  # type: ignore[no-untyped-def]
        return ok(current_service().default_preset_view())

    return [bp]
