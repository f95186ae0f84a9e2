"""The range of SQLite's INTEGER, and the check that keeps wider numbers out of a query.

SQLite stores a signed 64-bit integer; sqlite3 raises OverflowError for a wider Python int
bound to a query (a 500 where the caller sent a bad id).  Every integer a request carries is
checked against this range at the edge (``shared.web.validation.DbInt``, ``db_int``).
"""
from __future__ import annotations

DB_INT_MIN = -(2**63)
DB_INT_MAX = 2**63 - 1


def db_int(text: str | None) -> int | None:
    """Return ``text`` as an int when it is plain ASCII digits within SQLite's range, else None.

    For references that are an id or a name, and headers such as ``Last-Event-ID``:
    ``'²'.isdigit()`` is true but ``int('²')`` fails, and ``'9' * 20`` overflows SQLite.
    """
    if not text or len(text) > 19 or not text.isascii() or not text.isdigit():
        return None
    value = int(text)
    return value if value <= DB_INT_MAX else None


__all__ = ["DB_INT_MAX", "DB_INT_MIN", "db_int"]
