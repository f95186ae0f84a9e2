"""Query timing shared by every connection of one process: counts, success rate, slow log."""
from __future__ import annotations

import logging
import threading
import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger("database_operations")


@dataclass
class QueryStats:
    """Thread-safe counters of the queries one process ran."""

    slow_ms: float = 100.0
    queries: int = 0
    failures: int = 0
    retries: int = 0
    total_s: float = 0.0
    max_s: float = 0.0
    transactions: int = 0
    rollbacks: int = 0
    slow: deque = field(default_factory=lambda: deque(maxlen=50))
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def record(self, sql: str, seconds: float, ok: bool) -> None:
        with self._lock:
            self.queries += 1
            self.total_s += seconds
            if seconds > self.max_s:
                self.max_s = seconds
            if not ok:
                self.failures += 1
        if seconds * 1000 >= self.slow_ms:
            entry = {"sql": sql[:200], "ms": round(seconds * 1000, 2), "at": time.time()}
            self.slow.append(entry)
            log.warning("slow query", extra=entry)

    def record_transaction(self, label: str, seconds: float, committed: bool) -> None:
        """Count one finished transaction (one lock round trip for the hot path)."""
        with self._lock:
            self.queries += 1
            self.transactions += 1
            self.total_s += seconds
            if seconds > self.max_s:
                self.max_s = seconds
            if not committed:
                self.failures += 1
                self.rollbacks += 1
        if seconds * 1000 >= self.slow_ms:
            entry = {"sql": label[:200], "ms": round(seconds * 1000, 2), "at": time.time()}
            self.slow.append(entry)
            log.warning("slow query", extra=entry)

    def add_retry(self) -> None:
        with self._lock:
            self.retries += 1

    def add_transaction(self, committed: bool) -> None:
        with self._lock:
            self.transactions += 1
            if not committed:
                self.rollbacks += 1

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            q = self.queries
            return {
                "queries": q,
                "failures": self.failures,
                "success_rate": 1.0 if q == 0 else round((q - self.failures) / q, 6),
                "retries": self.retries,
                "transactions": self.transactions,
                "rollbacks": self.rollbacks,
                "avg_ms": round(self.total_s / q * 1000, 4) if q else 0.0,
                "max_ms": round(self.max_s * 1000, 3),
                "slow_queries": list(self.slow)[-10:],
                "slow_threshold_ms": self.slow_ms,
            }
