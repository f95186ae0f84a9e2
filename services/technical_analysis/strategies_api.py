"""HTTP routes selecting and weighting technical analysis's strategies at run time (thin: parse,
call one use case of ``StrategyAdmin``, serialize)."""
from __future__ import annotations

from typing import Annotated

from flask import Blueprint, request
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.web import current_service, ok, validate

Weight = Annotated[float, Field(ge=0, le=100, allow_inf_nan=False,
                                description="0 to 100; 0 keeps the strategy out of the blend")]
ParamValue = Annotated[float, Field(allow_inf_nan=False)] | int | bool | str
Params = dict[Annotated[str, Field(max_length=64)], ParamValue]
NAME = r"^[a-z][a-z0-9_]{0,39}$"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StrategyUpdate(_Model):
    enabled: bool | None = None
    weight: Weight | None = None
    params: Params | None = Field(None, max_length=50, description="merged over the current "
                                  "parameters; checked by the kind's or the class's params")

    @model_validator(mode="after")
    def _something(self) -> StrategyUpdate:
        if self.enabled is None and self.weight is None and not self.params:
            raise ValueError("send at least one of enabled, weight, params")
        return self


class StrategyAdd(_Model):
    name: str = Field(pattern=NAME, description="lower case letters, digits and _, e.g. mine")
    file: str = Field(min_length=4, max_length=300, description="path.py:ClassName under "
                      "docs/strategies or technical.user_strategy_dirs")
    params: Params = Field({}, max_length=50)
    weight: Weight = 1.0
    enabled: bool = True


class ChangesQuery(_Model):
    name: str | None = Field(None, max_length=40)
    limit: int = Field(100, ge=1, le=1000)


def _who() -> str:
    """Return who changes the strategies: the caller's X-Changed-By (printable, at most 64
    characters), else "api"."""
    who = "".join(c for c in request.headers.get("X-Changed-By", "") if c.isprintable())
    return who.strip()[:64] or "api"


def _admin():  # type: ignore[no-untyped-def]
    return current_service().admin


def strategies_blueprint() -> Blueprint:
    """Return the /api/v1/strategies routes."""
    bp = Blueprint("technical_strategies", __name__, url_prefix="/api/v1")

    @bp.get("/strategies")
    @validate(summary="Every strategy: kind or file, parameters with defaults, weight, on/off, "
              "last error", tags=["strategies"])
    def list_strategies():  # type: ignore[no-untyped-def]
        return ok(_admin().list())

    @bp.get("/strategies/files")
    @validate(summary="Strategy files of the allowed folders with their classes",
              tags=["strategies"])
    def strategy_files():  # type: ignore[no-untyped-def]
        return ok(_admin().files())

    @bp.get("/strategies/changes")
    @validate(query=ChangesQuery, summary="The strategies' change log (who, when, old, new)",
              tags=["strategies"])
    def strategy_changes(query: ChangesQuery):  # type: ignore[no-untyped-def]
        return ok(_admin().changes(query.name, query.limit))

    @bp.put("/strategies/<name>")
    @validate(body=StrategyUpdate, tags=["strategies"],
              summary="Enable, disable, weight or re-parameterise a strategy (next analysis)")
    def update_strategy(name: str, body: StrategyUpdate):  # type: ignore[no-untyped-def]
        return ok(_admin().update(name, enabled=body.enabled, weight=body.weight,
                                  params=body.params, who=_who()))

    @bp.post("/strategies")
    @validate(body=StrategyAdd, status=201, tags=["strategies"],
              summary="Add a user strategy from a file under the allowed folders")
    def add_strategy(body: StrategyAdd):  # type: ignore[no-untyped-def]
        return ok(_admin().add(body.name, body.file, body.params, body.weight, body.enabled,
                               _who()), status=201)

    @bp.delete("/strategies/<name>")
    @validate(summary="Delete a user strategy added at run time", tags=["strategies"])
    def delete_strategy(name: str):  # type: ignore[no-untyped-def]
        return ok(_admin().delete(name, _who()))

    return bp
