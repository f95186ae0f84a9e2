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
from datetime import UTC, date, datetime
from typing import Annotated, Any, TypeVar

from flask import Request, request
from pydantic import AfterValidator, AwareDatetime, BaseModel
from pydantic import ValidationError as PydanticValidationError

from shared.errors import ValidationError

F = TypeVar("F", bound=Callable[..., Any])

#: The instants the suite can compute with: pandas' nanosecond timestamps end in 2262, and no
#: bar, order or report predates 1970.  Wider input is a 400 here, not a 500 deep in pandas.
MIN_INSTANT = datetime(1970, 1, 1, tzinfo=UTC)
MAX_INSTANT = datetime(2200, 1, 1, tzinfo=UTC)


def _instant_in_range(value: datetime) -> datetime:
    aware = value if value.tzinfo is not None else value.replace(tzinfo=UTC)
    if not MIN_INSTANT <= aware < MAX_INSTANT:
        raise ValueError(f"must be between {MIN_INSTANT.date()} and {MAX_INSTANT.date()} "
                         f"(UTC), was {value.isoformat()}")
    return value


def _date_in_range(value: date) -> date:
    if not MIN_INSTANT.date() <= value < MAX_INSTANT.date():
        raise ValueError(f"must be between {MIN_INSTANT.date()} and {MAX_INSTANT.date()}, "
                         f"was {value.isoformat()}")
    return value


#: A timezone-aware datetime within [1970, 2200): use it for every timestamp a request carries.
Instant = Annotated[AwareDatetime, AfterValidator(_instant_in_range)]
#: The same range for a datetime that may be naive (read as UTC by the service).
AnyInstant = Annotated[datetime, AfterValidator(_instant_in_range)]
#: A calendar date within [1970, 2200).
SessionDate = Annotated[date, AfterValidator(_date_in_range)]


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


def _json_or_none(req: Request, raw: bytes) -> Any:
    """Return what ``req.get_json(silent=True)`` returns, without its caching and look-ups.

    None for a body that is not JSON by its Content-Type, is not valid JSON, or is ``null``.
    """
    if not req.is_json:
        return None
    try:
        return req.json_module.loads(raw)
    except ValueError:
        return None


def parse_body(model: type[BaseModel]) -> BaseModel:
    """Return the JSON body validated against ``model``.

    Raises:
        ValidationError: when the body is not JSON or does not fit the model.
    """
    req = request._get_current_object()  # type: ignore[attr-defined]  # one proxy lookup
    # get_data, not request.data: .data runs Werkzeug's form parser first (~30 us a request)
    raw = req.get_data(cache=True)
    payload: Any = {} if not raw else _json_or_none(req, raw)
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
    raw: bool = False,
    mimetypes: tuple[str, ...] = ("application/json",),
    body_doc: dict[str, Any] | None = None,
) -> Callable[[F], F]:
    """Validate the request and record the route's contract for ``/openapi.json``.

    ``raw=True`` documents a body sent as is (no envelope), in any of ``mimetypes``, e.g. a
    file download.  ``body_doc`` documents an optional JSON body the view reads itself (e.g.
    one forwarded to another service) without validating it here.
    """

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
            "raw": raw, "mimetypes": tuple(mimetypes), "body_doc": body_doc,
        }
        return wrapper  # type: ignore[return-value]

    return decorate
