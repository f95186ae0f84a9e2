"""A small TTL + LRU memory cache with stats, behind an interface ``shared.cache`` can replace.

Kept deliberately tiny (get / set / clear / stats) so the data manager can switch to
``shared.cache.cache_manager.get_cache(name, max_size, default_ttl)`` without other changes.
"""
from __future__ import annotations

import threading
from collections.abc import Hashable
from typing import Any

from cachetools import TTLCache

_MISS = object()


class MemoryCache:
    """Thread-safe ``cachetools.TTLCache`` counting hits, misses and sets."""

    def __init__(self, name: str, max_size: int, default_ttl: float) -> None:
        self.name = name
        self._cache: TTLCache = TTLCache(maxsize=max_size, ttl=default_ttl)
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

    def stats(self) -> dict[str, Any]:
        with self._lock:
            total = self.hits + self.misses
            return {"name": self.name, "size": len(self._cache), "max_size": self._cache.maxsize,
                    "ttl_s": self._cache.ttl, "hits": self.hits, "misses": self.misses,
                    "sets": self.sets, "hit_rate": round(self.hits / total, 4) if total else 0.0}
