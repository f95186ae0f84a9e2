"""Rate-limit counters in process memory without a timer thread (storage for flask-limiter).

limits' ``MemoryStorage`` starts a ``threading.Timer`` every 10 ms while requests arrive, only
to drop expired keys; starting that thread sits on the request path and, on our loaded 2-core
machines, cost milliseconds per mutating request (a third of a paper-trading order submission
under gunicorn).  Fixed-window counters already expire lazily when read, so this subclass
runs the same clean-up inline, at most once a second, and never starts a thread.
"""
from __future__ import annotations

import time

from limits.storage import MemoryStorage

#: the ``storage_uri`` that selects this storage
STORAGE_URI = "inlinememory://"


class InlineExpiryMemoryStorage(MemoryStorage):
    """``MemoryStorage`` whose expiry runs on the calling thread, once a second at most."""

    STORAGE_SCHEME = ["inlinememory"]  # registered with limits by its metaclass on import
    SWEEP_INTERVAL_S = 1.0

    def __init__(self, uri: str | None = None, wrap_exceptions: bool = False, **_: str) -> None:
        super().__init__(uri, wrap_exceptions=wrap_exceptions)
        self.timer.cancel()  # the one timer the base class starts in its constructor
        self._next_sweep = 0.0

    # limits 5.8 calls this (name-mangled) before every counter change
    def _MemoryStorage__schedule_expiry(self) -> None:
        now = time.monotonic()
        if now >= self._next_sweep:
            self._next_sweep = now + self.SWEEP_INTERVAL_S
            self._MemoryStorage__expire_events()  # type: ignore[attr-defined]


__all__ = ["STORAGE_URI", "InlineExpiryMemoryStorage"]
