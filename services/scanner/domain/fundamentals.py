"""Fundamentals filters: market cap, float and P/E bounds and a sector list, over the symbols'
combined fundamentals (``shared.market.fundamentals``: decimal strings, compared as Decimal).

A symbol whose value is missing fails a bound (a fund has no P/E: ``min_pe`` leaves it out).
The sector is compared without case; a symbol without fundamentals falls back to the sector
of the universe (the scanner's ``sectors`` filter reads only that one).
"""
from __future__ import annotations

from collections.abc import Mapping
from decimal import Decimal
from typing import Any

import numpy as np

#: filter stem -> field of the fundamentals record
BOUNDS: dict[str, str] = {"market_cap": "market_cap", "float": "float_shares", "pe": "pe_ratio"}
NAMES = (*(f"{side}_{stem}" for stem in BOUNDS for side in ("min", "max")), "sector")


def wanted(filters: Any) -> bool:
    """Return whether any fundamentals filter is set (only then are fundamentals read)."""
    return any(getattr(filters, n) not in (None, []) for n in NAMES)


def sectors_of(value: str | list[str] | None) -> list[str]:
    """Return the ``sector`` filter as a list (one sector or several)."""
    if value is None:
        return []
    return [value] if isinstance(value, str) else list(value)


def _decimal(v: Any) -> Decimal | None:
    return None if v is None else Decimal(str(v))


def checks(symbols: np.ndarray, sectors: np.ndarray, records: Mapping[str, Mapping[str, Any]],
           filters: Any) -> tuple[list[tuple[str, str, Any, np.ndarray]], dict[str, np.ndarray]]:
    """Return (filter, metric, threshold, passed) of each set fundamentals filter, and the
    values shown (metric -> one float per symbol, NaN where missing)."""
    out: list[tuple[str, str, Any, np.ndarray]] = []
    shown: dict[str, np.ndarray] = {}
    for stem, field in BOUNDS.items():
        lo, hi = getattr(filters, f"min_{stem}"), getattr(filters, f"max_{stem}")
        if lo is None and hi is None:
            continue
        vals = [_decimal((records.get(str(s)) or {}).get(field)) for s in symbols]
        shown[field] = np.array([np.nan if v is None else float(v) for v in vals])
        for side, bound in (("min", lo), ("max", hi)):
            if bound is None:
                continue
            b = Decimal(repr(bound))  # the digits the user typed, not the float's binary value
            ok = np.array([v is not None and (v >= b if side == "min" else v <= b) for v in vals],
                          dtype=bool)
            out.append((f"{side}_{stem}", field, bound, ok))
    want = {s.casefold() for s in sectors_of(filters.sector)}
    if want:
        got = [((records.get(str(s)) or {}).get("sector") or str(sec)) for s, sec in
               zip(symbols, sectors, strict=True)]
        out.append(("sector", "sector", sectors_of(filters.sector),
                    np.array([g.casefold() in want for g in got], dtype=bool)))
    return out, shown
