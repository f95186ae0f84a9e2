"""Alpaca's raw JSON bodies (no envelope), encoded with orjson."""
from __future__ import annotations

import orjson
from flask import Response

from shared.web import to_jsonable

#: datetimes and dataclasses go through ``to_jsonable`` like everywhere else in the suite
#: (orjson's own formats differ); NaN comes out as null either way
_ORJSON_OPTS = orjson.OPT_PASSTHROUGH_DATETIME | orjson.OPT_PASSTHROUGH_DATACLASS | \
    orjson.OPT_NON_STR_KEYS


def json_response(data: object, status: int = 200) -> Response:
    """Return Alpaca's raw JSON body.

    The Alpaca objects are already JSON types (money as strings), so they are encoded directly
    rather than walked again by the suite's generic encoder; anything else falls back to it.
    orjson, not ``json``: an order object took 7.5 us to encode with ``json`` and 0.6 us
    with orjson, on the path of every submission.
    """
    return Response(orjson.dumps(data, default=to_jsonable, option=_ORJSON_OPTS),
                    status=status, mimetype="application/json")


__all__ = ["json_response"]
