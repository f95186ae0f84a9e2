"""The workflow loop: one thread that runs a cycle at every step of the market clock.

Several gunicorn workers may each start a loop; only the holder of the ``workflow`` lease row
(renewed every poll, expiring after ``lease_ttl_s``) runs cycles, so exactly one process
drives the suite and another takes over within the TTL when it dies.

Between ticks the loop sleeps ``poll_s``; on PostgreSQL a write of the clock row (a step, a
resume, a new run: ``shared.db.notify.MARKET_CLOCK``) wakes it at once, so a stepped clock's
cycle starts when the step commits rather than at the next poll.
"""
from __future__ import annotations

import logging
import os
import socket
import threading
import uuid
from typing import Any

from shared.db.notify import MARKET_CLOCK, Waiter
from shared.errors import Conflict

log = logging.getLogger("coordination.loop")
LEASE = "workflow"


class WorkflowLoop:
    """Polls the clock and runs ``service.run_cycle`` once per clock step while running."""

    def __init__(self, service: Any) -> None:
        self.svc = service
        self.holder = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._last_key: str | None = None
        self._ready = False

    def start(self) -> None:
        if self._thread is None:
            self._thread = threading.Thread(target=self._run, name="workflow-loop", daemon=True)
            self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
        try:
            self.svc.repo.release_lease(LEASE, self.holder)
        except Exception:  # shutting down: the lease expires anyway
            pass

    def tick(self) -> dict[str, Any] | None:
        """Run a cycle if this process holds the lease, the automation runs and a new clock
        step has begun; return the run or None.

        The cycle claims its step in the same transaction that re-checks the state and the
        lease (``Repository.claim_step``), and the lease is renewed while the cycle runs, so
        a cycle longer than the lease's TTL cannot hand the suite to a second driver.
        """
        cfg = self.svc.cfg
        if not self.svc.repo.acquire_lease(LEASE, self.holder, cfg.lease_ttl_s):
            return None
        state = (self.svc.repo.automation() or {}).get("state")
        if state != "running":
            return None
        now = self.svc.clock.now_ts()
        if not self.svc.clock.calendar.is_open(now):
            return None
        if not self._ready:  # the suite may still be starting beside us
            ready = getattr(self.svc.gateway, "suite_ready", None)
            # and the history the analyses read must be stored (the market feed backfills it
            # in the first seconds): no automated decision on a window still filling
            feed = getattr(self.svc, "_feed", None)
            self._ready = (ready is None or bool(ready())) and (
                feed is None or bool(feed.status()["history_ready"]))
            if not self._ready:
                return None
        key = self.svc.step_key(now)
        if key == self._last_key:
            return None
        self._store_bars_through(now)
        self._last_key = key
        renew = threading.Event()
        keeper = threading.Thread(target=self._renew, args=(renew,), daemon=True,
                                  name="workflow-lease")
        keeper.start()
        try:
            return self.svc.run_cycle("loop", claim=True, holder=self.holder)
        except Conflict:
            return None  # another driver took this step, or a stop came in first
        finally:
            renew.set()
            keeper.join()

    def _store_bars_through(self, now: object) -> None:
        """Have the market feed store every bar the clock has closed before the cycle reads.

        Woken by the clock's commit (LISTEN on PostgreSQL), the loop could otherwise start a
        step's analyses before the feed's own thread stored that step's minute, and a replay's
        decisions would then depend on which thread ran first.  ``catch_up`` is locked and
        cheap when nothing is missing.
        """
        feed = getattr(self.svc, "_feed", None)
        if feed is None:
            return
        try:
            feed.catch_up(now)
        except Exception:  # noqa: BLE001 - the cycle then reads what is stored, as before
            log.warning("market feed catch-up before the cycle failed", exc_info=True)

    def _renew(self, done: threading.Event) -> None:
        ttl = self.svc.cfg.lease_ttl_s
        while not done.wait(ttl / 3):
            try:
                self.svc.repo.acquire_lease(LEASE, self.holder, ttl)
            except Exception:  # a busy database: the next renewal may pass
                log.warning("lease renewal failed", exc_info=True)

    def _run(self) -> None:
        log.info("workflow loop started", extra={"holder": self.holder})
        poll_s = self.svc.cfg.poll_s
        waiter = Waiter.for_database(self.svc.db, (MARKET_CLOCK,), poll_s=poll_s)
        try:
            waiter.start()  # before the first tick: a step committed after it wakes the loop
        except Exception:  # noqa: BLE001 - unreachable now: each wait tries again
            log.warning("workflow loop cannot listen to the clock yet", exc_info=True)
        try:
            while not self._stop.is_set():
                try:
                    self.tick()
                except Exception:  # keep the loop alive; the run row holds the details
                    log.exception("workflow tick failed")
                waiter.wait(poll_s, self._stop)  # SQLite: sleeps poll_s, as before
        finally:
            waiter.close()
