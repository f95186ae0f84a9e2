"""The response envelope every ``/api/v1`` endpoint answers, and JSON encoding of our types.

``{"status": "success"|"error", "data": ..., "error": {"code", "message", "details"}|null,
"timestamp": ISO-8601 UTC, "market": {"source", "simulated"}}``.  Decimals are encoded as
strings so no cent is lost to a float.  ``market`` says where the suite's prices come from
(``{"source": "simulated", "simulated": true}`` on the built-in market), so no client takes a
simulated price for a real one; apps not built by ``create_service_app`` leave it out.
"""
from __future__ import annotations

import enum
import json
import math
import uuid
from dataclasses import asdict, is_dataclass
from datetime import UTC, date, datetime
from decimal import Decimal
from typing import TYPE_CHECKING, Any

from flask import Response, current_app
from flask.json.provider import DefaultJSONProvider
from pydantic import BaseModel

from shared.domain.money import money_str

if TYPE_CHECKING:
    from shared.config import Settings

#: where ``create_service_app`` keeps the app's market label (``app.extensions``)
MARKET_KEY = "market_label"


def utc_now_iso() -> str:
    """Return the wall-clock time as ISO-8601 UTC (for envelope timestamps, not trading)."""
    return datetime.now(UTC).isoformat(timespec="milliseconds")


def to_jsonable(value: Any) -> Any:
    """Return ``value`` with Decimals as strings, datetimes as ISO, NaN as null.

    Walks containers (dict keys become strings, tuples and sets lists) and floats here; every
    other type goes through ``_encode_default``, the encoder hook, so both paths convert alike.
    """
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple, set, frozenset)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, float):
        return None if (math.isnan(value) or math.isinf(value)) else value
    if value is None or type(value) in (str, int, bool):
        return value
    try:
        stand_in = _encode_default(value)
    except TypeError:
        return value  # not ours to convert: left for the encoder to accept or refuse
    return to_jsonable(stand_in)


def _encode_default(value: Any) -> Any:
    """Return a JSON-native stand-in for a value ``json`` cannot encode (its ``default=`` hook).

    The same conversions as ``to_jsonable``, one level at a time: the encoder calls this again
    for whatever the stand-in holds.  Raises TypeError for a type we do not encode.
    """
    if isinstance(value, BaseModel):
        return value.model_dump(mode="python", by_alias=True)
    if isinstance(value, Decimal):
        return money_str(value)
    if isinstance(value, datetime):
        if value.tzinfo is None:
            value = value.replace(tzinfo=UTC)
        return value.isoformat()
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, uuid.UUID):
        return str(value)
    if isinstance(value, (set, frozenset)):
        return list(value)
    if is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    if hasattr(value, "tolist"):  # numpy arrays and scalars
        return value.tolist()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


def dumps_jsonable(obj: Any, **kwargs: Any) -> str:
    """Return ``json.dumps(to_jsonable(obj))`` without walking plain data in Python.

    ``json``'s C encoder takes dicts, lists, str, int and float as they are and calls
    ``_encode_default`` for our types; only when that fails (a NaN or infinite float, which
    ``to_jsonable`` turns into null, or a dict key ``json`` refuses such as a date) is the
    value walked by ``to_jsonable`` first, so the text is the same either way.  (Not orjson:
    it renders floats and non-ASCII text differently from ``json``, and the bytes every
    service answers today are kept.)  Raises TypeError for a value neither path can encode.
    """
    kwargs["default"] = _encode_default
    kwargs["allow_nan"] = False
    try:
        return json.dumps(obj, **kwargs)
    except (ValueError, TypeError):
        return json.dumps(to_jsonable(obj), **kwargs)


def _reject_constant(name: str) -> Any:
    raise ValueError(f"{name} is not valid JSON")


def _finite_float(text: str) -> float:
    value = float(text)
    if math.isinf(value):  # e.g. 1e400: JSON has no infinity, so refuse rather than guess
        raise ValueError(f"number {text[:40]} is out of range")
    return value


_ENCODER = json.JSONEncoder(default=_encode_default, allow_nan=False)
_STRICT_DECODER = json.JSONDecoder(parse_float=_finite_float, parse_constant=_reject_constant)


class SuiteJSONProvider(DefaultJSONProvider):
    """Flask JSON provider that encodes our types (Flask's default renders dates as RFC 822).

    Decoding is strict JSON: ``NaN``/``Infinity`` tokens and numbers that overflow a float are
    refused (the request then gets a 400 naming the body) instead of reaching a model as NaN.
    """

    sort_keys = False

    def loads(self, s: str | bytes, **kwargs: Any) -> Any:
        if not kwargs and isinstance(s, (bytes, bytearray)):
            # what json.loads does with bytes, minus building a decoder and its scanner on
            # every call (it does whenever hooks are passed); ``json`` shares its own default
            # decoder across threads the same way
            return _STRICT_DECODER.decode(s.decode(json.detect_encoding(s), "surrogatepass"))
        kwargs.setdefault("parse_constant", _reject_constant)
        kwargs.setdefault("parse_float", _finite_float)
        return super().loads(s, **kwargs)

    def dumps(self, obj: Any, **kwargs: Any) -> str:
        if kwargs.get("allow_nan", False) or "default" in kwargs:
            kwargs.setdefault("allow_nan", False)
            return super().dumps(to_jsonable(obj), **kwargs)
        if not kwargs and self.ensure_ascii and not self.sort_keys:
            # dumps_jsonable(obj) with the encoder built once, not on every call
            try:
                return _ENCODER.encode(obj)
            except (ValueError, TypeError):
                return _ENCODER.encode(to_jsonable(obj))
        kwargs.setdefault("ensure_ascii", self.ensure_ascii)
        kwargs.setdefault("sort_keys", self.sort_keys)
        return dumps_jsonable(obj, **kwargs)


def _covered(routes: Any, cls: str) -> bool:
    """Return whether every timeframe of ``cls`` has a route of its own (``cls``, or
    ``cls:intraday``/``cls:<tf>`` for 1m..1h and ``cls:daily``/``cls:1d``)."""
    spans = {k.partition(":")[2] for k in routes if k.partition(":")[0] == cls}
    intraday = "intraday" in spans or {"1m", "5m", "15m", "1h"} <= spans
    return "" in spans or (intraday and bool({"daily", "1d"} & spans))


def market_label(settings: Settings) -> dict[str, Any]:
    """Return where the suite's prices come from: ``{"source": ..., "simulated": bool}``.

    ``source`` names the providers the market routes can serve from, in route order and
    comma-separated: ``"simulated"`` on the built-in market.  An asset class with no route of
    its own is served by the built-in market, as the data manager does; Alpaca without its
    keys serves nothing, so it is left out when another provider is named.  ``simulated`` is
    true whenever a price may come from the built-in market, as a fallback too.
    """
    routes = settings.market.routes
    names = list(dict.fromkeys(name for chain in routes.values() for name in chain))
    if not all(_covered(routes, c) for c in ("equity", "crypto")) and "simulated" not in names:
        names.append("simulated")
    if not settings.alpaca.configured and len(names) > 1 and "alpaca" in names:
        names.remove("alpaca")
    return {"source": ", ".join(names), "simulated": "simulated" in names}


def ok(data: Any = None, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """Return a success envelope."""
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    body = {"status": "success", "data": data, "error": None, "timestamp": utc_now_iso()}
    market = app.extensions.get(MARKET_KEY)
    if market is not None:
        body["market"] = market
    resp = app.response_class(app.json.dumps(body), status=status, mimetype="application/json")
    for k, v in (headers or {}).items():
        resp.headers[k] = v
    return resp


def error_body(code: str, message: str, details: Any = None,
               market: dict[str, Any] | None = None) -> dict[str, Any]:
    """Return an error envelope body (with the app's ``market`` label when given)."""
    body = {
        "status": "error",
        "data": None,
        "error": {"code": code, "message": message, "details": details},
        "timestamp": utc_now_iso(),
    }
    if market is not None:
        body["market"] = market
    return body
