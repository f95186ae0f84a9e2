"""A small TTL + LRU memory cache with stats, behind an interface ``shared.cache`` can replace.

Kept deliberately tiny (get / set / clear / stats) so the data manager can switch to
``shared.cache.cache_manager.get_cache(name, max_size, default_ttl)`` without other changes.
Its TTL runs on wall time, or on any ``timer``: the data manager's runs on the market clock
(``ForwardTimer``), since its keys hold the clock's minute and are dead once the clock moved
on, however fast a replay runs.
"""
from __future__ import annotations

import threading
from collections.abc import Callable, Hashable
from typing import Any

from cachetools import TTLCache

_MISS = object()


class ForwardTimer:
    """Seconds a clock has moved forward since this timer was made: a monotonic timer for
    ``TTLCache`` over a clock that can also jump back (a replay reset or rewind), whose
    backward moves count as nothing.  ``advance`` it with the clock's time; calling it is
    only an attribute read (``TTLCache`` calls its timer on every get)."""

    def __init__(self) -> None:
        self._seconds = 0.0
        self._last_ns: int | None = None
        self._lock = threading.Lock()

    def advance(self, now_ns: int) -> None:
        """Take the clock's time ``now_ns`` (int nanoseconds): add what it moved forward."""
        with self._lock:
            if self._last_ns is not None and now_ns > self._last_ns:
                self._seconds += (now_ns - self._last_ns) / 1e9
            self._last_ns = now_ns

    def __call__(self) -> float:
        return self._seconds


class MemoryCache:
    """Thread-safe ``cachetools.TTLCache`` counting hits, misses and sets.

    ``timer`` (default: ``time.monotonic``) measures ``default_ttl``; it must never go back.
    """

    def __init__(self, name: str, max_size: int, default_ttl: float, *,
                 timer: Callable[[], float] | None = None) -> None:
        self.name = name
        self._cache: TTLCache = (TTLCache(maxsize=max_size, ttl=default_ttl) if timer is None
                                 else TTLCache(maxsize=max_size, ttl=default_ttl, timer=timer))
        self._lock = threading.Lock()
        self.hits = self.misses = self.sets = 0

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            value = self._cache.get(key, _MISS)
            if value is _MISS:
                self.misses += 1
                return default
            self.hits += 1
            return value

    def set(self, key: Hashable, value: Any) -> None:
        with self._lock:
            self._cache[key] = value
            self.sets += 1

    def clear(self) -> None:
        with self._lock:
            self._cache.clear()

    def expire(self) -> int:
        """Drop the entries whose TTL has run out now; return how many (``TTLCache`` alone
        drops them only when something is set)."""
        with self._lock:
            return len(self._cache.expire())

    def stats(self) -> dict[str, Any]:
        with self._lock:
            total = self.hits + self.misses
            return {"name": self.name, "size": len(self._cache), "max_size": self._cache.maxsize,
                    "ttl_s": self._cache.ttl, "hits": self.hits, "misses": self.misses,
                    "sets": self.sets, "hit_rate": round(self.hits / total, 4) if total else 0.0}
