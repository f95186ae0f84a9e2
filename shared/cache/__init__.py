"""Thread-safe memory caches with TTL, LRU eviction, a size bound and stats (cachetools);
an LRU bounded by bytes (``SizedLRU``)."""
from shared.cache.manager import CacheManager, MemoryCache, cache_manager
from shared.cache.sized import SizedLRU, nbytes

__all__ = ["CacheManager", "MemoryCache", "SizedLRU", "cache_manager", "nbytes"]
