"""Named memory caches on cachetools' ``TLRUCache``: per-entry TTL, LRU eviction, bounded size."""
from __future__ import annotations

import threading
import time
from collections.abc import Hashable
from typing import Any

from cachetools import TLRUCache

_MISSING = object()


class MemoryCache:
    """A bounded TTL + LRU cache safe to share between threads, with hit/miss/eviction stats."""

    def __init__(self, name: str, max_size: int = 1024, default_ttl: float = 60.0) -> None:
        if max_size <= 0 or default_ttl <= 0:
            raise ValueError("max_size and default_ttl must be positive")
        self.name = name
        self.max_size = max_size
        self.default_ttl = default_ttl
        self._lock = threading.RLock()
        self.hits = self.misses = self.evictions = self.sets = 0
        cache = self

        class _Counting(TLRUCache):
            def popitem(self) -> Any:  # called by cachetools only to evict the LRU entry
                item = super().popitem()
                cache.evictions += 1
                return item

        # The TTL travels with each value so set(ttl=) can differ per key.
        self._data = _Counting(maxsize=max_size, ttu=lambda _k, v, now: now + v[1],
                               timer=time.monotonic)

    def get(self, key: Hashable, default: Any = None) -> Any:
        with self._lock:
            entry = self._data.get(key, _MISSING)
            if entry is _MISSING:
                self.misses += 1
                return default
            self.hits += 1
            return entry[0]

    def set(self, key: Hashable, value: Any, ttl: float | None = None) -> None:
        with self._lock:
            self._data[key] = (value, self.default_ttl if ttl is None else float(ttl))
            self.sets += 1

    def delete(self, key: Hashable) -> bool:
        with self._lock:
            return self._data.pop(key, _MISSING) is not _MISSING

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __contains__(self, key: Hashable) -> bool:
        with self._lock:
            return key in self._data

    def __len__(self) -> int:
        with self._lock:
            self._data.expire()
            return len(self._data)

    def stats(self) -> dict[str, Any]:
        with self._lock:
            lookups = self.hits + self.misses
            return {
                "name": self.name, "size": len(self._data), "max_size": self.max_size,
                "default_ttl": self.default_ttl, "hits": self.hits, "misses": self.misses,
                "evictions": self.evictions, "sets": self.sets,
                "hit_rate": round(self.hits / lookups, 4) if lookups else 0.0,
            }


class CacheManager:
    """The process's named caches."""

    def __init__(self) -> None:
        self._caches: dict[str, MemoryCache] = {}
        self._lock = threading.Lock()

    def get_cache(self, name: str, max_size: int = 1024, default_ttl: float = 60.0) -> MemoryCache:
        """Return the cache called ``name``, creating it with these bounds on first use."""
        with self._lock:
            cache = self._caches.get(name)
            if cache is None:
                cache = MemoryCache(name, max_size, default_ttl)
                self._caches[name] = cache
            return cache

    def get_all_stats(self) -> dict[str, dict[str, Any]]:
        with self._lock:
            caches = list(self._caches.values())
        return {c.name: c.stats() for c in caches}

    def shutdown_all(self) -> None:
        """Empty and forget every cache."""
        with self._lock:
            caches, self._caches = list(self._caches.values()), {}
        for c in caches:
            c.clear()


cache_manager = CacheManager()
