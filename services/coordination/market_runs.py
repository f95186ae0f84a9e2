"""Market runs: a rewind of the replay clock starts a new run (docs/ARCHITECTURE.md).

Coordination owns the run number (``market_clock.run``, ``market_runs``) and moves it in the
same transaction as the clock.  It never writes another service's tables: it asks reporting
to freeze the closing run's report and paper trading to archive the run's rows and start the
next one, then commits the clock.  Paper trading refuses every write while its run is ahead
of the clock's, so nothing can be booked at the closing run's time into the new run.
"""
from __future__ import annotations

import logging
from typing import Any, Protocol

from shared.errors import AppError, Conflict
from shared.market import ClockController
from shared.market.clock import ClockState

log = logging.getLogger("coordination")

#: Tries of "freeze the report, then archive" when a fill landed between the two.
FENCE_TRIES = 3


class RunOwners(Protocol):
    """The owners a new run needs (``Gateway`` implements it over HTTP)."""

    def close_report_run(self, run: int) -> dict[str, Any]: ...

    def start_broker_run(self, run: int, fence: dict[str, Any],
                         starts_at: str) -> dict[str, Any]: ...


def start_new_run(ctl: ClockController, owners: RunOwners, automation: Any,
                  to: ClockState | None = None) -> dict[str, Any]:
    """Close the current market run and start the next at the replay's first open, or with
    the clock set ``to`` a planned state (a new range that moves the time back).

    ``automation`` is coordination's service: its loop is paused meanwhile (and resumed
    after, when it was running); the clock keeps its mode, pace, speed and paused state.

    Raises:
        Conflict: the clock is live, or a fill kept landing between the report's freeze and
            the archive (``FENCE_TRIES`` times).
        ServiceUnavailable: reporting or paper trading did not answer (the clock and the run
            are unchanged then; a retry completes a half-done switch).
    """
    st = ctl.clock.state()
    if (to or st).mode != "replay":
        raise Conflict("the clock is live; only a replay can be rewound", field="mode")
    run, was_paused = st.run, st.paused
    starts_at = (to.sim_anchor if to is not None else st.replay_start).isoformat()
    was_running = (automation.repo.automation() or {}).get("state") == "running"
    if was_running:
        automation.set_automation("paused")
    ctl.pause()
    try:
        for attempt in range(1, FENCE_TRIES + 1):
            fence = owners.close_report_run(run)
            try:
                owners.start_broker_run(run + 1, fence, starts_at)
                break
            except AppError as exc:
                if getattr(exc, "http_status", 0) != 409 or attempt == FENCE_TRIES:
                    raise
                log.info("fill after the report's freeze; freezing again",
                         extra={"run": run, "attempt": attempt})

        def forget_last_step(conn: Any) -> None:
            # the new run's first step must not look already cycled
            conn.execute("UPDATE coord_automation SET last_step_ts = NULL WHERE id = 1")

        new = ctl.start_run(run, paused=was_paused, also=forget_last_step, to=to)
    except Exception:
        if not was_paused:
            ctl.resume()
        raise
    finally:
        if was_running:
            automation.set_automation("running")
    log.info("market run started", extra={"run": new.run, "closed": run})
    return {"run": new.run, "closed_run": run}


def list_runs(db: Any) -> list[dict[str, Any]]:
    """Return every market run, newest first, with where its clock started and ended."""
    return [dict(r) for r in db.fetch_all("SELECT * FROM market_runs ORDER BY run DESC")]


__all__ = ["FENCE_TRIES", "RunOwners", "list_runs", "start_new_run"]
