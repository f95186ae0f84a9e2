"""Coordination's use cases: the clock, the automation, one cycle, strategy settings, records."""
from __future__ import annotations

import logging
import threading
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from services.coordination import strategy_settings
from services.coordination.domain import SessionWindow
from services.coordination.gateway import Gateway
from services.coordination.market_runs import list_runs, start_new_run
from services.coordination.repository import Repository
from services.coordination.workflow import Cycle
from shared.config import Settings
from shared.config_sections.coordination import Strategy
from shared.db import Database, DatabaseServiceMixin
from shared.domain.money import D
from shared.errors import Conflict, NotFound, ValidationError
from shared.market import ClockController

log = logging.getLogger("coordination")


class CoordinationService(DatabaseServiceMixin):
    """Everything coordination does, over its own tables, the clock and the other services."""

    def __init__(self, settings: Settings, db: Database, gateway: Any = None) -> None:
        self.init_database(db)
        self.settings = settings
        self.cfg = settings.coordination
        self.repo = Repository(db)
        self.clock_ctl = ClockController(db, settings.market.clock)
        self.clock = self.clock_ctl.clock
        self._gateway = gateway
        self._pool: ThreadPoolExecutor | None = None
        self._cycle_lock = threading.Lock()
        self.loop: Any = None
        self._feed: Any = None
        fills = settings.paper_trading.fills
        self.commission_rate = Decimal(str(fills.commission_percent)) / 100

    # -- collaborators built on first use (never at import or in create_app) ----------------
    @property
    def gateway(self) -> Any:
        if self._gateway is None:
            self._gateway = Gateway(self.settings)
            self._gateway.feed = self.feed
        return self._gateway

    @property
    def feed(self) -> Any:
        """The suite's one writer of market data (``shared.market.feed.MarketFeed``)."""
        if self._feed is None:
            from shared.market import DataManager
            from shared.market.feed import MarketFeed

            dm = DataManager(self.settings, self.db, clock=self.clock, owner=True)
            self._feed = MarketFeed(dm, self.settings.market.ingest)
        return self._feed

    def market_feed(self) -> dict[str, Any]:
        return self.feed.status()

    @property
    def pool(self) -> ThreadPoolExecutor:
        if self._pool is None:
            self._pool = ThreadPoolExecutor(self.cfg.max_workers, thread_name_prefix="coord")
        return self._pool

    # -- clock ------------------------------------------------------------------------------
    def clock_view(self) -> dict[str, Any]:
        return self.clock.snapshot()

    def configure_clock(self, **changes: Any) -> dict[str, Any]:
        """Change mode, pace, speed, range or step size (see ``ClockController.configure``).

        A change that moves the market time back (a range starting earlier, live to replay)
        is a rewind: it starts a new market run (``market_runs``).

        Raises:
            ValidationError: for a bad mode, pace, speed or an empty range.
        """
        changes = {k: v for k, v in changes.items() if v is not None}
        planned = self.clock_ctl.plan(**changes)
        if self.clock_ctl.moves_back(planned):
            start_new_run(self.clock_ctl, self.gateway, self, to=planned)
        else:
            self.clock_ctl.configure(**changes)
        self._clock_moved()
        return self.clock_view()

    def clock_action(self, action: str, n: int = 1, to: datetime | None = None) -> dict[str, Any]:
        """Pause, resume, step ``n`` steps, advance ``to`` a time, or rewind the clock to the
        replay's first open (``reset``/``rewind``: a new market run, see ``market_runs``).

        Raises:
            ValidationError: unknown action or ``advance`` without ``to``.
            Conflict: stepping/advancing/rewinding a live clock or moving it back.
        """
        if action == "pause":
            self.clock_ctl.pause()
        elif action == "resume":
            self.clock_ctl.resume()
        elif action == "step":
            self.clock_ctl.step(n)
        elif action == "advance":
            if to is None:
                raise ValidationError("advance needs 'to'", field="to")
            self.clock_ctl.advance(to)
        elif action in ("reset", "rewind"):
            # a rewind starts a new market run (the books of the old one are archived)
            start_new_run(self.clock_ctl, self.gateway, self)
        else:
            raise ValidationError(f"unknown clock action {action!r}", field="action")
        self._clock_moved()
        return self.clock_view()

    def market_runs(self) -> list[dict[str, Any]]:
        return list_runs(self.db)

    def _clock_moved(self) -> None:
        """Store the market up to the clock's new time before answering: a stepped or
        advanced clock is priced when the call returns (the feed walks the history again
        when the clock jumped)."""
        if self._feed is not None:
            self._feed.catch_up(self.clock.now_ts())

    def window(self) -> SessionWindow:
        """Return where the market clock stands in the session."""
        now = self.clock.now_ts()
        cal = self.clock.calendar
        close = cal.next_close(now) if cal.is_open(now) else None
        return SessionWindow(now.to_pydatetime(), None if close is None else close.to_pydatetime(),
                             float(self.step_minutes()))

    # -- strategy settings ------------------------------------------------------------------
    def strategy(self) -> Strategy:
        stored = self.repo.strategy()
        return self.cfg.strategy if stored is None else Strategy.model_validate(stored)

    def update_strategy(self, patch: dict[str, Any], changed_by: str = "api") -> dict[str, Any]:
        """Validate ``patch`` over the live strategy, store it and log each changed key.

        Raises:
            ValidationError: naming the first bad or unknown field, every one in
                ``details.errors`` with its allowed values (nothing is changed).
        """
        new, changes = strategy_settings.check(
            self.strategy().model_dump(), patch, presets=self.settings.scanner.presets,
            equity=self._equity() if strategy_settings.touches_account(patch) else None)
        if changes:
            self.repo.save_strategy(new, changes, changed_by)
            log.info("strategy changed", extra={"changes": [c[0] for c in changes]})
        return {"strategy": new, "changes": [{"key": k, "old": o, "new": n}
                                             for k, o, n in changes]}

    def _equity(self) -> Decimal:
        """Return the automation account's equity (the starting cash when paper trading
        does not answer)."""
        try:
            return D(self.gateway.account()["equity"])
        except Exception:  # noqa: BLE001 - a bound to check against, not the change itself
            log.warning("strategy check: paper trading's equity unavailable; using the "
                        "starting cash")
            return D(self.settings.paper_trading.starting_cash)

    def settings_changes(self, limit: int) -> list[dict[str, Any]]:
        return self.repo.changes(limit)

    # -- automation -------------------------------------------------------------------------
    def automation(self) -> dict[str, Any]:
        row = self.repo.automation() or {"state": "stopped", "last_step_ts": None}
        lease = self.repo.lease("workflow")
        return {"state": row["state"], "last_step_ts": row.get("last_step_ts"),
                "loop_holder": lease["holder"] if lease else None,
                "cycle_every": self.cfg.cycle_every, "step_minutes": self.step_minutes(),
                "clock": self.clock_view()}

    def set_automation(self, state: str, wait_s: float | None = None) -> dict[str, Any]:
        """Start (``running``), pause or stop the automated cycle.

        Pausing or stopping returns once the loop has acknowledged: no loop cycle is in
        flight any more, and none can start (``claim_step`` re-reads the state in its own
        transaction), so a caller may drive the clock itself from then on.  ``acknowledged``
        is False when a cycle still ran after ``wait_s`` (default: the scan timeout plus
        the call timeout, a cycle's worst case).

        Raises:
            ValidationError: for an unknown state.
        """
        if state not in ("running", "paused", "stopped"):
            raise ValidationError(f"unknown automation state {state!r}", field="state")
        self.repo.set_automation(state)
        acked = True
        if state != "running":
            limit = self.cfg.scan_timeout_s + self.cfg.call_timeout_s
            deadline = time.monotonic() + (limit if wait_s is None else wait_s)
            # runs older than the worst case belong to a process that died mid-cycle
            while self.repo.runs_in_flight("loop", 2 * limit + 60):
                if time.monotonic() >= deadline:
                    acked = False
                    break
                time.sleep(0.05)
        return {**self.automation(), "acknowledged": acked}

    def step_minutes(self) -> int:
        if self.cfg.cycle_every == "minutes":
            return self.cfg.cycle_minutes
        tf = self.strategy().timeframe
        return {"1m": 1, "5m": 5, "15m": 15, "1h": 60, "1d": 390}[tf]

    def run_cycle(self, trigger: str = "manual", advance_steps: int = 0, *,
                  claim: bool = False, holder: str | None = None) -> dict[str, Any]:
        """Optionally step the clock ``advance_steps`` times, then run one cycle now.

        With ``claim`` the cycle first claims its clock step (see ``Repository.claim_step``):
        a step already cycled, or a loop (``holder`` given) whose automation stopped or whose
        lease lapsed, gets no cycle.

        Raises:
            Conflict: when asked to step a live clock, or the claim is refused.
        """
        with self._cycle_lock:
            if advance_steps:
                self.clock_ctl.step(advance_steps)
            window = self.window()
            step = self.step_key(pd.Timestamp(window.now))
            run_id = None
            if claim:
                run_id = uuid.uuid4().hex
                if not self.repo.claim_step(step, run_id=run_id, trigger=trigger,
                                            clock_ts=window.now.isoformat(), holder=holder,
                                            require_running=holder is not None):
                    raise Conflict(f"clock step {step} was already cycled, or the automation "
                                   "stopped / the loop lost its lease", field="step")
            cycle = Cycle(self.gateway, self.repo, self.pool,
                          commission_rate=self.commission_rate)
            rec = cycle.run(self.strategy(), window, trigger, snapshot=self.cfg.snapshot,
                            run_id=run_id)
            if not claim:
                self.repo.set_automation(last_step_ts=step)
            return {**rec, "step": step}

    # -- records ----------------------------------------------------------------------------
    def runs(self, limit: int, status: str | None,
             market_run: int | None = None) -> list[dict[str, Any]]:
        return self.repo.runs(limit, status, market_run)

    def run(self, run_id: str) -> dict[str, Any]:
        """Return one run with its steps.

        Raises:
            NotFound: for an unknown run id.
        """
        r = self.repo.run(run_id)
        if r is None:
            raise NotFound(f"no run {run_id}", field="run_id")
        return r

    def ledger(self, *, symbol: str | None = None, order_id: str | None = None,
               client_order_id: str | None = None, limit: int = 100) -> list[dict[str, Any]]:
        return self.repo.decisions(symbol=symbol, order_id=order_id,
                                   client_order_id=client_order_id, limit=limit)

    # -- boot -------------------------------------------------------------------------------
    def boot(self) -> None:
        """Start the workflow loop in this serving process (the lease keeps it to one)."""
        from services.coordination.engine import WorkflowLoop

        if self.cfg.autostart and self.repo.automation() is None:
            self.repo.set_automation("running")
            row = self.db.fetch_one("SELECT 1 FROM market_clock WHERE id = 1")
            if row is None and self.cfg.start_clock_speed and \
                    self.settings.market.clock.mode == "replay":
                self.clock_ctl.configure(pace="multiplier", speed=self.cfg.start_clock_speed)
                self.clock_ctl.resume()
        # the market is stored up to the clock before this process answers /health, so
        # every symbol is priced once the suite reports healthy; then it follows the clock
        self.feed.start()
        if not self.cfg.autostart:
            return
        self.loop = WorkflowLoop(self)
        self.loop.start()

    def step_key(self, now: pd.Timestamp) -> str:
        """Return the market time at which the clock step holding ``now`` began (ISO).

        In a session, steps of ``step_minutes`` count from its open; outside one, ``now``
        itself (a stepped clock stops at the close, which is its own step).
        """
        cal = self.clock.calendar
        if not cal.is_open(now):
            return now.isoformat()
        start = cal.session_bounds(cal.session_of(now))[0]
        size = self.step_minutes() * 60
        k = int((now - start).total_seconds()) // size
        return (start + pd.Timedelta(seconds=k * size)).isoformat()
