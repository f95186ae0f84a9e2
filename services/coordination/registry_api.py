"""``GET /api/v1/services``: the service registry (heartbeats and supervision), read-only."""
from __future__ import annotations

from typing import Literal

from flask import Blueprint, current_app
from pydantic import BaseModel, ConfigDict, Field

from services.coordination.registry_service import RegistryService
from shared.web import current_settings, ok, validate

State = Literal["starting", "running", "degraded", "stopping", "stopped", "failed"]


class ServicesQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    state: State | None = Field(None, description="only services in this state")


class ServiceEvent(BaseModel):
    id: int
    service: str
    event: str
    pid: int | None
    exit_code: int | None
    reason: str | None
    at: str


class ServiceEntry(BaseModel):
    name: str
    port: int
    pid: int
    version: str
    host: str
    started_at: str
    last_heartbeat: str
    heartbeat_age_s: float
    stale: bool = Field(description="running but no heartbeat for three intervals")
    state: State
    restarts: int
    last_exit_code: int | None
    last_reason: str | None
    health_latency_ms: float | None


class ServiceDetail(ServiceEntry):
    events: list[ServiceEvent]


def _service() -> RegistryService:
    return RegistryService(current_app.extensions["db"], current_settings())


def registry_blueprint() -> Blueprint:
    """Return a new blueprint with the registry routes."""
    bp = Blueprint("registry", __name__)

    @bp.get("/api/v1/services")
    @validate(query=ServicesQuery, response=list[ServiceEntry], tags=["registry"])
    def list_services(query: ServicesQuery):
        """Every registered service: state, pid, restarts, last exit, heartbeat age."""
        return ok(_service().list(query.state))

    @bp.get("/api/v1/services/<name>")
    @validate(response=ServiceDetail, tags=["registry"], responses={404: "Unknown service"})
    def get_service(name: str):
        """One service's registry row with its last 20 supervision events."""
        return ok(_service().get(name))

    return bp
