"""The memory cache: TTL, LRU eviction, size bound, stats, thread safety."""
from __future__ import annotations

import threading
import time

import pytest

from shared.cache import CacheManager, MemoryCache


def test_ttl_expires_entries_and_per_key_ttl_overrides() -> None:
    c = MemoryCache("t", max_size=10, default_ttl=0.05)
    c.set("a", 1)
    c.set("b", 2, ttl=5)
    assert c.get("a") == 1
    time.sleep(0.08)
    assert c.get("a") is None and c.get("b") == 2


def test_lru_eviction_respects_recent_use_and_bound() -> None:
    c = MemoryCache("l", max_size=2, default_ttl=60)
    c.set("a", 1)
    c.set("b", 2)
    c.get("a")  # a is now most recently used
    c.set("c", 3)
    assert "b" not in c and c.get("a") == 1 and c.get("c") == 3
    assert len(c) == 2
    s = c.stats()
    assert s["evictions"] == 1 and s["hits"] == 3 and s["misses"] == 0 and s["hit_rate"] == 1.0


def test_delete_and_stats() -> None:
    c = MemoryCache("d", 5, 60)
    c.set("x", None)  # None is a value, not a miss
    assert c.get("x", "default") is None
    assert c.delete("x") is True and c.delete("x") is False
    assert c.get("x", "default") == "default"
    assert c.stats()["misses"] == 1


def test_manager_returns_named_caches_and_shuts_down() -> None:
    m = CacheManager()
    a = m.get_cache("prices", max_size=3, default_ttl=1)
    assert m.get_cache("prices") is a
    a.set("k", "v")
    assert m.get_all_stats()["prices"]["size"] == 1
    m.shutdown_all()
    assert m.get_all_stats() == {} and len(a) == 0


def test_concurrent_use_is_safe() -> None:
    c = MemoryCache("c", max_size=100, default_ttl=60)

    def work(n: int) -> None:
        for i in range(2000):
            c.set((n, i % 150), i)
            c.get((n, (i * 7) % 150))

    threads = [threading.Thread(target=work, args=(n,)) for n in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    s = c.stats()
    assert len(c) <= 100 and s["sets"] == 8000 and s["hits"] + s["misses"] == 8000


@pytest.mark.parametrize("size,ttl", [(0, 1), (1, 0), (-1, 1)])
def test_bad_bounds_are_refused(size: int, ttl: float) -> None:
    with pytest.raises(ValueError):
        MemoryCache("b", size, ttl)
