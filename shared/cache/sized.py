"""An LRU bounded by the bytes its values hold, not by how many there are.

A count bound says nothing about memory when values differ in size by orders of magnitude
(a cached 1m series holds thousands of bars, a daily one a few hundred) and new keys keep
arriving: technical analysis's series cache held up to 5,000 series, and every cycle's new
candidates added ~220 KB each until it filled (the worker grew ~8 MB per simulated day of
replay, issue 15).  cachetools sizes an LRU by any measure (``getsizeof``); this adds the
measure (``nbytes``) and keeps a value larger than the whole bound out instead of raising.
"""
from __future__ import annotations

from typing import Any, TypeVar

from cachetools import LRUCache

K = TypeVar("K")
V = TypeVar("V")


def nbytes(value: Any) -> int:
    """Return the bytes ``value`` holds: its ``nbytes`` (numpy arrays, ``BarArrays``,
    ``SeriesState``), summed over tuples, lists and dict values; 0 for anything else."""
    size = getattr(value, "nbytes", None)
    if isinstance(size, int):
        return size
    if isinstance(value, (tuple, list)):
        return sum(nbytes(v) for v in value)
    if isinstance(value, dict):
        return sum(nbytes(v) for v in value.values())
    return 0


class SizedLRU(LRUCache[K, V]):
    """An ``LRUCache`` holding at most ``max_bytes`` of values (as ``nbytes`` counts them).

    A value is measured when it is set: a value that grows in place must be set again
    (``cache[key] = value``) for its new size to count.  A value larger than ``max_bytes``
    is not kept (and any older value under its key is dropped).
    """

    def __init__(self, max_bytes: int) -> None:
        super().__init__(maxsize=max(int(max_bytes), 1), getsizeof=lambda v: max(nbytes(v), 1))

    def __setitem__(self, key: K, value: V) -> None:
        if self.getsizeof(value) > self.maxsize:
            self.pop(key, None)
            return
        super().__setitem__(key, value)
