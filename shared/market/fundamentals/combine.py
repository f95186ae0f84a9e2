"""The combiner: one record from many providers' records, with where each field came from.

Each field is taken from the highest-priority provider that has a value for it; the answer
says which provider that was, and lists every field on which providers disagree: numbers
further apart than a relative tolerance (``|a - b| / max(|a|, |b|)``), or different text
(compared without case and surrounding spaces).  Pure: no files, no network.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from shared.market.fundamentals.fields import FIELDS, NUMBER_FIELDS, Record, to_decimal


@dataclass(frozen=True)
class Combined:
    record: Record
    sources: dict[str, str]
    disagreements: list[dict[str, Any]] = field(default_factory=list)


def order(providers: Sequence[str], priority: Sequence[str]) -> list[str]:
    """Return ``providers`` by priority; those the list does not name come last, by name."""
    rank = {p: i for i, p in enumerate(priority)}
    return sorted(dict.fromkeys(providers), key=lambda p: (rank.get(p, len(rank)), p))


def relative_diff(a: Decimal, b: Decimal) -> Decimal:
    """Return ``|a - b| / max(|a|, |b|)`` (0 when both are 0)."""
    scale = max(abs(a), abs(b))
    return Decimal(0) if scale == 0 else abs(a - b) / scale


def _disagreement(name: str, chosen: str, values: dict[str, str],
                  tolerance: Decimal) -> dict[str, Any] | None:
    if name in NUMBER_FIELDS:
        nums = {p: to_decimal(v) for p, v in values.items()}
        ref = nums[chosen]
        if ref is None:
            return None
        diffs = [relative_diff(ref, n) for p, n in nums.items() if p != chosen and n is not None]
        worst = max(diffs, default=Decimal(0))
        if worst <= tolerance:
            return None
        return {"field": name, "chosen": chosen, "values": values,
                "max_relative_diff": str(worst.quantize(Decimal("0.0001")))}
    if len({" ".join(v.split()).casefold() for v in values.values()}) <= 1:
        return None
    return {"field": name, "chosen": chosen, "values": values}


def combine(records: Mapping[str, Mapping[str, Any]], priority: Sequence[str],
            tolerance: Decimal | float | str = Decimal("0.05")) -> Combined:
    """Return the combined record of ``records`` (provider -> normalised record).

    ``sources`` names the provider of every field that has a value; ``disagreements`` lists,
    in field order, each field where a lower-priority provider's value differs from the one
    taken beyond ``tolerance`` (numbers) or at all (text and dates), with every provider's value.
    """
    tol = Decimal(str(tolerance))
    ranked = order(list(records), priority)
    record: Record = {}
    sources: dict[str, str] = {}
    disagreements = []
    for name in FIELDS:
        values = {p: records[p][name] for p in ranked if records[p].get(name) is not None}
        if not values:
            record[name] = None
            continue
        chosen = next(iter(values))
        record[name], sources[name] = values[chosen], chosen
        if len(values) > 1:
            d = _disagreement(name, chosen, values, tol)
            if d is not None:
                disagreements.append(d)
    return Combined(record, sources, disagreements)
