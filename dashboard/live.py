"""Live updates: one poller per process, relayed to every browser as Server-Sent Events.

A single background thread polls the services (health, clock, orders, positions, account,
fills, workflow) read-only every ``poll_interval_s`` and publishes a topic only when its
content changed.  Each SSE connection is a generator waiting on the poller's condition, so ten
open tabs cost one set of upstream calls, not ten.  An upstream error becomes a value on its
topic (``{"available": False, ...}``); the poller itself never dies of one, and the browser's
EventSource reconnects by itself when the stream ends or the dashboard restarts.

``AccountPollers`` keeps one such poller per paper account that someone watches: an account
nobody streams is never polled, and a poller whose last subscriber left stops its thread.
"""
from __future__ import annotations

import json
import logging
import threading
import time
from collections import deque
from collections.abc import Callable, Iterator
from typing import Any

from shared.web.envelope import to_jsonable

log = logging.getLogger("dashboard.live")

Source = Callable[[], Any]


class Poller:
    """Poll ``sources`` while someone listens; keep the last value and a short event history."""

    def __init__(self, sources: dict[str, Source], interval_s: float, idle_stop_s: float = 30.0,
                 history: int = 500) -> None:
        self.sources = sources
        self.interval_s = interval_s
        self.idle_stop_s = idle_stop_s
        self.cond = threading.Condition()
        self.seq = 0
        self.latest: dict[str, tuple[int, str]] = {}  # topic -> (seq, json)
        self.events: deque[tuple[int, str, str]] = deque(maxlen=history)
        self.subscribers = 0
        self._last_listener = time.monotonic()
        self._thread: threading.Thread | None = None
        self._stop = threading.Event()
        self.errors = 0

    # -- lifecycle -------------------------------------------------------------------------
    def ensure_running(self) -> None:
        """Start the polling thread if it is not running (called by each new subscriber)."""
        with self.cond:
            if self._thread is None or not self._thread.is_alive():
                self._stop.clear()
                self._thread = threading.Thread(target=self._run, name="dashboard-poller",
                                                daemon=True)
                self._thread.start()

    @property
    def running(self) -> bool:
        """Whether the polling thread runs (it stops once nobody listened for a while)."""
        thread = self._thread
        return thread is not None and thread.is_alive()

    def stop(self) -> None:
        self._stop.set()
        with self.cond:
            self.cond.notify_all()

    def _run(self) -> None:
        while not self._stop.is_set():
            t0 = time.monotonic()
            self.poll_once()
            with self.cond:
                if self.subscribers == 0 and t0 - self._last_listener > self.idle_stop_s:
                    self._thread = None
                    return
            self._stop.wait(max(0.05, self.interval_s - (time.monotonic() - t0)))

    # -- polling ---------------------------------------------------------------------------
    def poll_once(self) -> int:
        """Poll every source once; publish the topics that changed and return how many."""
        changed = 0
        for topic, source in self.sources.items():
            try:
                value = source()
            except Exception as exc:  # noqa: BLE001 - one failing source must not stop the rest
                self.errors += 1
                log.warning("live source failed", extra={"topic": topic, "error": str(exc)})
                value = {"available": False, "message": f"{type(exc).__name__}: {exc}"}
            text = json.dumps(to_jsonable(value), separators=(",", ":"), allow_nan=False)
            with self.cond:
                prev = self.latest.get(topic)
                if prev is not None and prev[1] == text:
                    continue
                self.seq += 1
                self.latest[topic] = (self.seq, text)
                self.events.append((self.seq, topic, text))
                changed += 1
                self.cond.notify_all()
        return changed

    # -- subscribers -------------------------------------------------------------------------
    # The steps of one subscription, shared by ``subscribe`` (a thread) and the stream
    # server's asyncio handler (``services.paper_trading.streaming.sse``).
    def join(self, topics: set[str] | None, last_id: int | None) -> tuple[list[str], int]:
        """Count a subscriber in; return the SSE frames of each topic's current value newer
        than ``last_id`` and the cursor to follow changes from."""
        self.ensure_running()
        with self.cond:
            self.subscribers += 1
            snapshot = sorted((seq, t, text) for t, (seq, text) in self.latest.items()
                              if topics is None or t in topics)
            cursor = self.seq
        return [frame(seq, topic, text) for seq, topic, text in snapshot
                if last_id is None or seq > last_id], cursor

    def changes(self, cursor: int, topics: set[str] | None,
                wait_s: float = 0.0) -> tuple[list[str], int]:
        """Return the SSE frames of the changes after ``cursor`` (waiting up to ``wait_s`` for
        one) and the new cursor."""
        with self.cond:
            if wait_s and self.seq <= cursor:
                self.cond.wait(timeout=wait_s)
            fresh = [e for e in self.events if e[0] > cursor] if self.seq > cursor else []
            cursor = self.seq
        return [frame(seq, topic, text) for seq, topic, text in fresh
                if topics is None or topic in topics], cursor

    def leave(self) -> None:
        with self.cond:
            self.subscribers -= 1
            self._last_listener = time.monotonic()

    def subscribe(self, topics: set[str] | None, max_s: float, heartbeat_s: float,
                  last_id: int | None = None) -> Iterator[str]:
        """Yield SSE text: the current value of each topic, then each change, until ``max_s``."""
        first, cursor = self.join(topics, last_id)
        try:
            yield "retry: 2000\n\n"
            deadline = time.monotonic() + max_s
            yield from first
            beat = time.monotonic()
            while time.monotonic() < deadline and not self._stop.is_set():
                fresh, cursor = self.changes(cursor, topics, min(1.0, heartbeat_s))
                yield from fresh
                if time.monotonic() - beat >= heartbeat_s:
                    # a comment line: keeps proxies from timing out and reveals a gone client
                    beat = time.monotonic()
                    yield KEEP_ALIVE
            yield RECONNECT
        finally:
            self.leave()


class AccountPollers:
    """One ``Poller`` per paper account, made on the first subscriber to that account."""

    def __init__(self, sources_for: Callable[[int], dict[str, Source]], interval_s: float,
                 idle_stop_s: float = 30.0) -> None:
        self.sources_for = sources_for
        self.interval_s = interval_s
        self.idle_stop_s = idle_stop_s
        self._pollers: dict[int, Poller] = {}
        self._lock = threading.Lock()

    def get(self, account: int) -> Poller:
        """Return ``account``'s poller (kept, so its event ids stay valid across reconnects)."""
        with self._lock:
            poller = self._pollers.get(account)
            if poller is None:
                poller = Poller(self.sources_for(account), self.interval_s, self.idle_stop_s)
                self._pollers[account] = poller
            return poller

    def polling(self) -> list[int]:
        """Return the accounts whose poller thread runs now."""
        with self._lock:
            return sorted(a for a, p in self._pollers.items() if p.running)

    def stop(self) -> None:
        with self._lock:
            pollers = list(self._pollers.values())
        for poller in pollers:
            poller.stop()


KEEP_ALIVE = ": keep-alive\n\n"
RECONNECT = "event: reconnect\ndata: {}\n\n"


def frame(seq: int, topic: str, text: str) -> str:
    return f"id: {seq}\nevent: {topic}\ndata: {text}\n\n"
