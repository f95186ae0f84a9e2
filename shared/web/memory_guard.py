"""``MemoryGuard``: replace a gunicorn worker whose memory keeps growing once it is warm.

Why: over a long replay the analysis workers' memory rose by ~1-2 MB a market session while
their live Python and numpy allocations stayed flat (tracemalloc in the workers): what grew
was free space inside glibc's heap and pymalloc's arenas, held by a few long-lived objects
scattered among freed ones (fragmentation).  No allocator setting tried stopped it
(``PYTHONMALLOC=malloc`` made it worse, ``malloc_trim`` lowered the level but not the slope,
``MALLOC_MMAP_THRESHOLD_=65536`` changed nothing).
The remedy long-running CPython servers use is to replace the process: uWSGI's
``reload-on-rss``, Celery's ``worker_max_memory_per_child``, gunicorn's own ``max_requests``.
Gunicorn has no memory-based limit, so this adds one, measured the way the suite's memory is
judged and only against the worker's own level once warm, never a fixed size.

How: ``check`` (called after each request, at most every ``check_s``) reads the worker's
private memory (``Private_Clean + Private_Dirty`` of ``/proc/self/smaps_rollup``: what it
adds to the suite, pages it copied from the preloaded master included).  Readings start
``warmup_s`` after the worker started; the lowest so far is its level, and two readings in a
row more than ``growth_mb`` over it (not one request's passing peak) return the reason to
replace the worker.  The runner then lets the worker finish the requests it holds and exit
(``worker.alive = False``, the same path as ``max_requests``); the master forks a fresh
worker from the preloaded app at once, and connections that arrive meanwhile wait in the
listening socket's backlog.  A worker holds
only caches (its service's tables are the truth), so the new one refills them on its first
requests.  Services that run background tasks or hold streams are configured with 0 (off).
"""
from __future__ import annotations

import threading
import time
from collections.abc import Callable
from pathlib import Path

ROLLUP = Path("/proc/self/smaps_rollup")


def private_kib(path: Path = ROLLUP) -> int | None:
    """Return this process's private memory in KiB (clean + dirty), or None off Linux.

    Read by hand from the kernel's one-block summary: psutil's ``memory_full_info().uss``
    walks every mapping in ``/proc/self/smaps``, too slow for an after-request check.
    """
    try:
        text = path.read_text()
    except OSError:
        return None
    total = 0
    for line in text.splitlines():
        if line.startswith(("Private_Clean:", "Private_Dirty:")):
            total += int(line.split()[1])
    return total


class MemoryGuard:
    """Decide when a worker has grown too far past its own warm level (module docstring)."""

    def __init__(self, growth_mb: float, warmup_s: float, check_s: float,
                 clock: Callable[[], float] = time.monotonic,
                 read: Callable[[], int | None] = private_kib) -> None:
        self.growth_kib = growth_mb * 1024
        self.warmup_s = warmup_s
        self.check_s = check_s
        self._clock = clock
        self._read = read
        self._started = clock()
        self._next = self._started
        self.level_kib: int | None = None   # the lowest reading since the warm-up
        self._over = 0                        # readings in a row over the limit
        self.last_kib: int | None = None
        self._lock = threading.Lock()

    @property
    def enabled(self) -> bool:
        return self.growth_kib > 0

    def check(self) -> str | None:
        """Return why the worker should be replaced, or None (also when another thread is
        checking, or the last check was under ``check_s`` ago)."""
        if not self.enabled or not self._lock.acquire(blocking=False):
            return None
        try:
            now = self._clock()
            if now - self._started < self.warmup_s or now < self._next:
                return None
            self._next = now + self.check_s
            kib = self._read()
            if kib is None:
                return None
            self.last_kib = kib
            if self.level_kib is None or kib < self.level_kib:
                self.level_kib, self._over = kib, 0
                return None
            if kib - self.level_kib <= self.growth_kib:
                self._over = 0
                return None
            self._over += 1
            if self._over < 2:  # not a request's passing peak: over on two readings in a row
                return None
            return (f"private memory {kib / 1024:.1f} MB, {(kib - self.level_kib) / 1024:.1f} MB "
                    f"over its {self.level_kib / 1024:.1f} MB once warm (limit "
                    f"+{self.growth_kib / 1024:g} MB)")
        finally:
            self._lock.release()
