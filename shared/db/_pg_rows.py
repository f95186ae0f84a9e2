"""PostgreSQL's rows and values as the suite reads them from sqlite3 (``shared.db.postgres``)."""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import psycopg
from psycopg.adapt import Dumper, Loader


# -- rows --------------------------------------------------------------------------------------
class Row(tuple):
    """A result row read like ``sqlite3.Row``: by position, by column name, ``keys()``."""

    __slots__ = ()
    _index: dict[str, int] = {}

    def __getitem__(self, key: Any) -> Any:  # type: ignore[override]
        if isinstance(key, str):
            try:
                key = self._index[key]
            except KeyError:
                try:
                    key = self._index[key.lower()]
                except KeyError:
                    raise IndexError(f"no such column: {key}") from None
        return tuple.__getitem__(self, key)

    def keys(self) -> list[str]:
        return list(self._names)  # type: ignore[attr-defined]


_row_types: dict[tuple[str, ...], type[Row]] = {}


def _row_type(names: tuple[str, ...]) -> type[Row]:
    cls = _row_types.get(names)
    if cls is None:
        index = {n.lower(): i for i, n in enumerate(names)}
        index.update({n: i for i, n in enumerate(names)})
        cls = type("Row", (Row,), {"__slots__": (), "_index": index, "_names": names})
        if len(_row_types) < 10000:
            _row_types[names] = cls
    return cls


def suite_row(cursor: Any) -> Callable[[Sequence[Any]], Row]:
    """psycopg row factory: ``Row`` objects keyed by the cursor's column names."""
    desc = cursor.description
    cls = _row_type(tuple(c.name for c in desc) if desc else ())
    return cls


class BoolAsInt(Dumper):
    """SQLite stores a Python bool as 0/1 in INTEGER columns; so do we."""

    oid = psycopg.adapters.types["int8"].oid

    def dump(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"

    def quote(self, obj: bool) -> bytes:
        return b"1" if obj else b"0"


class NumericAsSqlite(Loader):
    """``SUM``/``AVG`` of BIGINT are NUMERIC here: return an int when whole (SQLite's
    INTEGER), else a float (SQLite's REAL).  Money is summed in integer micro-units."""

    def load(self, data: Any) -> Any:
        text = bytes(data).decode()
        if "." not in text and "e" not in text.lower() and "n" not in text.lower():
            return int(text)
        return float(text)


__all__ = ["BoolAsInt", "NumericAsSqlite", "Row", "suite_row"]
