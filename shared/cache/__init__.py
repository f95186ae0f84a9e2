"""Thread-safe memory caches with TTL, LRU eviction, a size bound and stats (cachetools)."""
from shared.cache.manager import CacheManager, MemoryCache, cache_manager

__all__ = ["CacheManager", "MemoryCache", "cache_manager"]
