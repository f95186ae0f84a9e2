"""Exact money: ``Decimal`` in code, integer micro-units (1e-6) in the database.

Every price, cash amount, P&L, commission and fractional quantity crosses the database
boundary through :func:`to_micros` / :func:`from_micros` and nowhere else, so SQL ``SUM`` over
money columns stays exact integer arithmetic.
"""
from __future__ import annotations

from decimal import ROUND_HALF_EVEN, Context, Decimal, InvalidOperation

MICROS = 1_000_000
_MICRO = Decimal("0.000001")
_CENT = Decimal("0.01")
_CTX = Context(prec=34)
# Largest amount that fits a signed 64-bit integer of micro-units (about 9.2 trillion).
MAX_ABS = Decimal(2**63 - 1) / MICROS


def D(value: object) -> Decimal:
    """Return ``value`` as a finite ``Decimal``.

    Floats go through ``repr`` so ``0.1`` becomes ``Decimal('0.1')``, not its binary expansion.

    Raises:
        ValueError: when the value is not a finite number (NaN, Infinity, text, bool, None).
    """
    if isinstance(value, Decimal):
        result = value
    elif isinstance(value, bool) or value is None:
        raise ValueError(f"expected a number, got {value!r}")
    elif isinstance(value, int):
        result = Decimal(value)
    elif isinstance(value, float):
        result = Decimal(repr(value))
    elif isinstance(value, str):
        try:
            result = Decimal(value.strip())
        except InvalidOperation:
            raise ValueError(f"expected a number, got {value!r}") from None
    else:
        raise ValueError(f"expected a number, got {type(value).__name__}")
    if not result.is_finite():
        raise ValueError(f"expected a finite number, got {value!r}")
    if abs(result) > MAX_ABS:
        raise ValueError(f"number out of range: {value!r}")
    return result


def to_micros(value: object) -> int:
    """Return ``value`` as integer micro-units, rounding half-to-even at the sixth decimal."""
    return int(D(value).quantize(_MICRO, rounding=ROUND_HALF_EVEN, context=_CTX) * MICROS)


def from_micros(micros: int | None) -> Decimal | None:
    """Return integer micro-units as a ``Decimal`` (``None`` stays ``None``)."""
    if micros is None:
        return None
    return (Decimal(int(micros)) / MICROS).quantize(_MICRO, context=_CTX).normalize(_CTX) + 0


def cents(value: object) -> Decimal:
    """Return ``value`` rounded half-to-even to the cent."""
    return D(value).quantize(_CENT, rounding=ROUND_HALF_EVEN, context=_CTX)


def money_str(value: object | None, places: int | None = None) -> str | None:
    """Return a plain (never scientific) decimal string for JSON, or ``None``.

    With ``places`` the value is rounded half-to-even to that many decimals first.
    """
    if value is None:
        return None
    d = D(value)
    if places is not None:
        d = d.quantize(Decimal(1).scaleb(-places), rounding=ROUND_HALF_EVEN, context=_CTX)
    text = format(d, "f")
    if places is None and "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text
