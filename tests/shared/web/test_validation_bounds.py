"""The edge's cheap checks: JSON depth over raw bytes, integers that fit SQLite."""
from __future__ import annotations

import json

import pytest

from shared.db.bounds import DB_INT_MAX, db_int
from shared.web.validation import MAX_JSON_DEPTH, json_depth_exceeded


@pytest.mark.parametrize("depth", [1, MAX_JSON_DEPTH - 1, MAX_JSON_DEPTH])
def test_bodies_up_to_the_max_depth_pass(depth):
    assert not json_depth_exceeded(b"[" * depth + b"]" * depth)
    assert not json_depth_exceeded(json.dumps(_nest(depth)).encode())


@pytest.mark.parametrize("depth", [MAX_JSON_DEPTH + 1, 1000, 100_000])
def test_bodies_past_the_max_depth_are_caught(depth):
    assert json_depth_exceeded(b"[" * depth + b"]" * depth)
    assert json_depth_exceeded(b'{"a":' * depth + b"1" + b"}" * depth)


def test_brackets_inside_strings_do_not_count():
    text = json.dumps({"headline": "[" * 500 + '\\"{' * 200, "list": [["x"] * 300]}).encode()
    assert not json_depth_exceeded(text)


def test_many_shallow_brackets_are_not_deep():
    assert not json_depth_exceeded(json.dumps([[1, 2]] * 50_000).encode())


@pytest.mark.parametrize("text,want", [
    ("1", 1), ("0", 0), (str(DB_INT_MAX), DB_INT_MAX), (str(DB_INT_MAX + 1), None),
    ("9" * 20, None), ("\u00b2", None), ("\u0661", None), ("-1", None), ("", None),
    (None, None), ("automation", None),
])
def test_db_int_takes_only_ascii_digits_within_sqlite(text, want):
    assert db_int(text) == want


def _nest(depth: int) -> object:
    out: object = 1
    for _ in range(depth):
        out = [out]
    return out
