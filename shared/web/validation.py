"""Request validation against pydantic models, and the metadata OpenAPI is built from.

``@validate(body=Model, query=Model, response=Model)`` parses the JSON body and the query
string into typed models (passed to the view as ``body=`` and ``query=``) and turns any
failure into a 400 that names the field.  Libraries such as spectree or flask-openapi3 do
this too but impose their own error shape and app class; ours must answer the suite's one
envelope, so the thin layer is here and pydantic does all the validating.
"""
from __future__ import annotations

import functools
import types
import typing
from collections.abc import Callable
from typing import Any, TypeVar

from flask import request
from pydantic import BaseModel
from pydantic import ValidationError as PydanticValidationError

from shared.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])


def _field_path(loc: tuple[Any, ...]) -> str:
    return ".".join(str(p) for p in loc) or "body"


def pydantic_error(exc: PydanticValidationError, where: str) -> ValidationError:
    """Return a ``ValidationError`` naming every offending field of a pydantic failure."""
    problems = []
    for err in exc.errors(include_url=False, include_context=False):
        problems.append({
            "field": _field_path(tuple(err["loc"])),
            "message": err["msg"],
            "type": err["type"],
        })
    first = problems[0]
    msg = f"{where} field '{first['field']}': {first['message']}"
    if len(problems) > 1:
        msg += f" (and {len(problems) - 1} more)"
    return ValidationError(msg, field=first["field"], details={"errors": problems, "in": where})


def _is_list(annotation: Any) -> bool:
    origin = typing.get_origin(annotation)
    if origin in (list, tuple, set):
        return True
    if origin is typing.Union or origin is types.UnionType:
        return any(_is_list(a) for a in typing.get_args(annotation))
    return False


def parse_query(model: type[BaseModel]) -> BaseModel:
    """Return the query string validated against ``model`` (lists from repeats or commas)."""
    data: dict[str, Any] = {}
    known = set()
    for name, field in model.model_fields.items():
        key = field.alias or name
        known.add(key)
        if key not in request.args:
            continue
        if _is_list(field.annotation):
            values: list[str] = []
            for v in request.args.getlist(key):
                values.extend(x for x in v.split(",") if x != "")
            data[key] = values
        else:
            data[key] = request.args.get(key)
    unknown = sorted(set(request.args) - known)
    if unknown and model.model_config.get("extra") == "forbid":
        raise ValidationError(f"unknown query parameter '{unknown[0]}'", field=unknown[0])
    try:
        return model.model_validate(data)
    except PydanticValidationError as exc:
        raise pydantic_error(exc, "query") from None


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Return the JSON body validated against ``model``.

    Raises:
        ValidationError: when the body is not JSON or does not fit the model.
    """
    if not request.data:
        payload: Any = {}
    else:
        payload = request.get_json(silent=True)
        if payload is None:
            raise ValidationError("the request body must be valid JSON "
                                  "(Content-Type: application/json)", field="body")
    try:
        return model.model_validate(payload)
    except PydanticValidationError as exc:
        raise pydantic_error(exc, "body") from None


def validate(
    *,
    body: type[BaseModel] | None = None,
    query: type[BaseModel] | None = None,
    response: Any = None,
    status: int = 200,
    summary: str | None = None,
    tags: list[str] | None = None,
    responses: dict[int, str] | None = None,
) -> Callable[[F], F]:
    """Validate the request and record the route's contract for ``/openapi.json``."""

    def decorate(fn: F) -> F:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            if query is not None:
                kwargs["query"] = parse_query(query)
            if body is not None:
                kwargs["body"] = parse_body(body)
            return fn(*args, **kwargs)

        wrapper._api = {  # type: ignore[attr-defined]
            "body": body, "query": query, "response": response, "status": status,
            "summary": summary or (fn.__doc__ or "").strip().split("\n")[0] or fn.__name__,
            "tags": tags or [], "responses": responses or {},
        }
        return wrapper  # type: ignore[return-value]

    return decorate
