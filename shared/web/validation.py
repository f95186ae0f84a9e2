"""Request validation against pydantic models, and the metadata OpenAPI is built from.

``@validate(body=Model, query=Model, response=Model)`` parses the JSON body and the query
string into typed models (passed to the view as ``body=`` and ``query=``) and turns any
failure into a 400 that names the field.  Libraries such as spectree or flask-openapi3 do
this too but impose their own error shape and app class; ours must answer the suite's one
envelope, so the thin layer is here and pydantic does all the validating.
"""
from __future__ import annotations

import functools
import re
import types
import typing
from collections.abc import Callable
from datetime import UTC, date, datetime
from decimal import Decimal
from enum import Enum
from typing import Annotated, Any, Literal, TypeVar, get_args, get_origin

from flask import Request, request
from pydantic import AfterValidator, AwareDatetime, BaseModel, Field
from pydantic import ValidationError as PydanticValidationError

from shared.db.bounds import DB_INT_MAX, DB_INT_MIN
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


#: An integer that may reach SQLite (ids, cursors, epochs, offsets).
DbInt = Annotated[int, Field(ge=DB_INT_MIN, le=DB_INT_MAX)]
#: The deepest nesting of arrays and objects a JSON body may have.  Python's parser recurses
#: once per level (a 2 KB body 1,000 deep raised RecursionError, a 500); no request of the
#: suite nests deeper than 4.
MAX_JSON_DEPTH = 64
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_NOT_BRACKETS = bytes(c for c in range(256) if c not in b"[]{}")
_STEP = {ord("["): 1, ord("{"): 1, ord("]"): -1, ord("}"): -1}


def json_depth_exceeded(raw: bytes, limit: int = MAX_JSON_DEPTH) -> bool:
    """Return whether the JSON text ``raw`` nests arrays/objects deeper than ``limit``.

    A scan of the raw bytes (strings dropped, then brackets counted), before any parser
    recurses; malformed text is left for the parser to refuse.
    """
    if raw.count(b"[") + raw.count(b"{") <= limit:
        return False  # the usual body: too few brackets to nest that deep
    brackets = _JSON_STRING.sub(b"", raw).translate(None, _NOT_BRACKETS)
    depth = 0
    for c in brackets:
        depth += _STEP[c]
        if depth > limit:
            return True
    return False


def check_json_depth(raw: bytes) -> None:
    """Refuse a JSON body nested deeper than ``MAX_JSON_DEPTH``.

    Raises:
        ValidationError: naming ``body``.
    """
    if json_depth_exceeded(raw):
        raise ValidationError(f"the request body nests arrays/objects deeper than "
                              f"{MAX_JSON_DEPTH} levels", field="body",
                              details={"max_depth": MAX_JSON_DEPTH})


def _wide_int(value: Any, path: tuple[Any, ...]) -> tuple[tuple[Any, ...], int] | None:
    """Return (where, value) of the first int in a validated value outside SQLite's range."""
    if isinstance(value, int) and not isinstance(value, bool):
        return None if DB_INT_MIN <= value <= DB_INT_MAX else (path, value)
    if isinstance(value, BaseModel):
        items: Any = ((k, getattr(value, k)) for k in type(value).model_fields)
    elif isinstance(value, dict):
        items = value.items()
    elif isinstance(value, (list, tuple, set, frozenset)):
        items = enumerate(value)
    else:
        return None
    for key, item in items:
        found = _wide_int(item, (*path, key))
        if found is not None:
            return found
    return None


@functools.lru_cache(maxsize=1024)
def _may_hold_int(annotation: Any) -> bool:
    """Return whether a value of ``annotation`` can hold an int (computed once per type: the
    walk below is skipped for models of money, strings and enums, e.g. an order)."""
    if annotation is bool or annotation in (str, bytes, float, Decimal, type(None)):
        return False
    if isinstance(annotation, type) and issubclass(annotation, BaseModel):
        return any(_may_hold_int(f.annotation) for f in annotation.model_fields.values())
    if isinstance(annotation, type) and issubclass(annotation, (Enum, datetime, date)):
        return False
    origin = get_origin(annotation)
    if origin is Literal:
        return any(isinstance(a, int) and not isinstance(a, bool) for a in get_args(annotation))
    if origin is Annotated:
        return _may_hold_int(get_args(annotation)[0])
    args = get_args(annotation)
    if origin is not None and args:
        return any(_may_hold_int(a) for a in args if a is not Ellipsis)
    return True  # int, Any, bare containers, anything unknown: walk it


def _check_int_range(model: BaseModel, where: str) -> BaseModel:
    """Return ``model`` after checking every int in it fits SQLite (a backstop behind the
    models' own bounds: ``DbInt`` or ``le=``)."""
    if not _may_hold_int(type(model)):
        return model
    found = _wide_int(model, ())
    if found is not None:
        field = _field_path(found[0])
        raise ValidationError(f"{where} field '{field}': must be between {DB_INT_MIN} and "
                              f"{DB_INT_MAX}, was {str(found[1])[:40]}", field=field,
                              details={"in": where, "min": DB_INT_MIN, "max": DB_INT_MAX})
    return model


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
        parsed = model.model_validate(data)
    except PydanticValidationError as exc:
        raise pydantic_error(exc, "query") from None
    return _check_int_range(parsed, "query")


def _json_or_none(req: Request, raw: bytes) -> Any:
    """Return what ``req.get_json(silent=True)`` returns, without its caching and look-ups.

    None for a body that is not JSON by its Content-Type, is not valid JSON, or is ``null``.
    """
    if not req.is_json:
        return None
    check_json_depth(raw)
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
        parsed = model.model_validate(payload)
    except PydanticValidationError as exc:
        raise pydantic_error(exc, "body") from None
    return _check_int_range(parsed, "body")


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
            for key, value in kwargs.items():  # path parameters (``<int:...>`` converters)
                if type(value) is int and not DB_INT_MIN <= value <= DB_INT_MAX:
                    raise ValidationError(f"path parameter '{key}' must be at most "
                                          f"{DB_INT_MAX}, was {str(value)[:40]}", field=key,
                                          details={"in": "path", "max": DB_INT_MAX})
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
