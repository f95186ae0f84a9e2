"""The JSON encoding every service answers with: our types, NaN as null, plain data unchanged."""
from __future__ import annotations

import enum
import json
import uuid
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, timezone
from decimal import Decimal

import numpy as np
import pytest
from flask import Flask
from pydantic import BaseModel

from shared.domain.money import money_str
from shared.web.envelope import SuiteJSONProvider, dumps_jsonable, to_jsonable


class Color(enum.Enum):
    RED = "red"


class Side(str, enum.Enum):  # noqa: UP042 - the str mixin the pattern service uses
    BUY = "buy"


@dataclass(frozen=True)
class Fill:
    price: Decimal
    at: datetime
    qty: float


class Model(BaseModel):
    price: Decimal
    when: date
    fills: list[Fill]


def _old(obj: object) -> str:
    """Encode the way the provider did before the fast path: walk, then ``json.dumps``."""
    return json.dumps(to_jsonable(obj), allow_nan=False, ensure_ascii=True, sort_keys=False,
                      separators=(",", ":"))


VALUES = [
    {"a": 1, "b": [1.5, "x", None, True], "c": {"d": "é→", "e": (1, 2)}},
    {"price": Decimal("1.10"), "big": Decimal("12345678.123456"), "neg": Decimal("-0.5")},
    {"naive": datetime(2024, 3, 5, 14, 30), "aware": datetime(2024, 3, 5, 9, 30, 0, 5,
                                                             tzinfo=timezone(timedelta(hours=-5))),
     "utc": datetime(2024, 3, 5, tzinfo=UTC), "day": date(2024, 3, 5)},
    {"enum": Color.RED, "str_enum": Side.BUY, "id": uuid.UUID(int=7), "set": {3}},
    {"nan": float("nan"), "inf": [1.0, float("-inf")], "np_nan": np.float64("nan")},
    {"np": np.arange(3), "np_f": np.array([1.5, np.nan]), "i64": np.int64(4),
     "f32": np.float32(0.5), "f64": np.float64(0.1)},
    {"dc": Fill(Decimal("2.5"), datetime(2024, 1, 2, 3, 4), 1.0),
     "model": Model(price=Decimal("3"), when=date(2024, 1, 2),
                    fills=[Fill(Decimal("0.01"), datetime(2024, 1, 2, tzinfo=UTC), 2.0)])},
    {1: "int key", 2.5: "float key", date(2024, 1, 2): "date key"},
    [Decimal("0"), [], {}, ""],
]


@pytest.mark.parametrize("value", VALUES)
def test_provider_text_is_the_walked_text(value: object) -> None:
    provider = SuiteJSONProvider(Flask(__name__))
    assert provider.dumps(value, separators=(",", ":")) == _old(value)
    assert dumps_jsonable(value, separators=(",", ":")) == _old(value)


def test_our_types_are_encoded_as_before() -> None:
    text = dumps_jsonable({"p": Decimal("1.10"), "t": datetime(2024, 3, 5, 14, 30),
                           "x": float("nan"), "a": np.array([1, 2]), "s": Side.BUY})
    assert json.loads(text) == {"p": money_str(Decimal("1.10")), "t": "2024-03-05T14:30:00+00:00",
                                "x": None, "a": [1, 2], "s": "buy"}


def test_nan_inside_our_types_becomes_null() -> None:
    fill = Fill(Decimal("1"), datetime(2024, 1, 2, tzinfo=UTC), float("nan"))
    assert json.loads(dumps_jsonable({"fill": fill}))["fill"]["qty"] is None


def test_unknown_type_is_refused() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        dumps_jsonable({"x": object()})


def test_explicit_default_or_allow_nan_keeps_the_walk() -> None:
    provider = SuiteJSONProvider(Flask(__name__))
    assert provider.dumps({"p": Decimal("2.50")}, default=str) == json.dumps(
        to_jsonable({"p": Decimal("2.50")}))
    assert provider.dumps([float("nan")], allow_nan=True) == "[null]"


@pytest.mark.parametrize("value", VALUES)
def test_provider_default_text_is_the_walked_text(value: object) -> None:
    # no arguments: what ok() calls, served by an encoder built once
    expected = json.dumps(to_jsonable(value), allow_nan=False, ensure_ascii=True,
                          sort_keys=False)
    assert SuiteJSONProvider(Flask(__name__)).dumps(value) == expected


def test_provider_default_refuses_unknown_types_as_before() -> None:
    with pytest.raises(TypeError, match="not JSON serializable"):
        SuiteJSONProvider(Flask(__name__)).dumps({"x": object()})


def _strict(text: str | bytes) -> object:
    """Decode the way the provider did before its decoder was built once."""
    from shared.web.envelope import _finite_float, _reject_constant

    return json.loads(text, parse_float=_finite_float, parse_constant=_reject_constant)


BODIES = [
    b'{"a": 10.1, "b": 1e-400, "c": 12345678901234567890.5, "d": [1, 2.0], "e": null}',
    b'{"s": "\\ud800lone", "t": "\\ud83d\\udca5", "u": "\\u0000", "k": 1, "k": 2}',
    '{"x": "é→"}'.encode(), "\ufeff{\"bom\": 1}".encode(), '{"w": 1}'.encode("utf-16"),
    '{"w": [1.5]}'.encode("utf-32-le"), bytearray(b'[1, "2", 3.25]'), b'"just text"', b"null",
    b'{"n": NaN}', b'{"n": Infinity}', b'{"n": -Infinity}', b'{"n": 1e400}', b'{"n": -1e400}',
    b'{"s": "\xff"}', b'{nope', b'{"a": 1} trailing', b"",
]


@pytest.mark.parametrize("raw", BODIES)
def test_provider_decodes_bytes_as_json_loads_with_the_strict_hooks(raw: bytes) -> None:
    provider = SuiteJSONProvider(Flask(__name__))
    try:
        expected: object = _strict(raw)
    except ValueError as exc:
        with pytest.raises(type(exc)) as got:
            provider.loads(raw)
        assert str(got.value) == str(exc)
    else:
        assert provider.loads(raw) == expected
