"""The normalised fundamentals record: its fields and how a provider's values are checked.

Every provider (``shared.market.sources``' ``fetch_fundamentals`` and the built-in market's)
returns a dict with these keys, None where it has no value: numbers as decimal strings (exact,
never floats), dates as ``YYYY-MM-DD``.  ``dividend_yield`` is a fraction (0.0052 is 0.52 %).
"""
from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

TEXT_FIELDS = ("name", "exchange", "currency", "sector", "industry")
NUMBER_FIELDS = ("market_cap", "shares_outstanding", "float_shares", "pe_ratio", "eps",
                 "dividend_yield", "beta")
DATE_FIELDS = ("next_earnings_date", "last_earnings_date")
FIELDS = (*TEXT_FIELDS, *NUMBER_FIELDS, *DATE_FIELDS)

Record = dict[str, str | None]


def to_decimal(value: Any) -> Decimal | None:
    """Return ``value`` as a finite Decimal, or None when it is missing or not a number.

    A float is read through its shortest repr (``0.1`` -> ``Decimal("0.1")``), so a provider
    answering JSON numbers gives the digits it sent.
    """
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, float) and not math.isfinite(value):
        return None
    try:
        d = Decimal(str(value).strip().replace(",", ""))
    except (InvalidOperation, ValueError):
        return None
    return d if d.is_finite() else None


def _number(value: Any) -> str | None:
    d = to_decimal(value)
    if d is None:
        return None
    # plain digits, no exponent ("2.87E+12" reads badly in a JSON answer)
    text = format(d.normalize(), "f")
    return "0" if text in ("-0", "") else text


def _date(value: Any) -> str | None:
    if value is None:
        return None
    if isinstance(value, date):
        return value.isoformat()
    text = str(value).strip()[:10]
    try:
        return date.fromisoformat(text).isoformat()
    except ValueError:
        return None


def _text(value: Any) -> str | None:
    if value is None:
        return None
    text = " ".join(str(value).split())
    return text[:200] or None


def normalise(raw: Mapping[str, Any]) -> Record:
    """Return ``raw`` reduced to the record's fields, each checked (a bad value becomes None).

    Keys outside ``FIELDS`` are dropped; a missing key is None.
    """
    out: Record = {}
    for f in TEXT_FIELDS:
        out[f] = _text(raw.get(f))
    for f in NUMBER_FIELDS:
        out[f] = _number(raw.get(f))
    for f in DATE_FIELDS:
        out[f] = _date(raw.get(f))
    return out
