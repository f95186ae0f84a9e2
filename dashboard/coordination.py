"""The dashboard's view of coordination: the market clock, the automation, workflow runs and
the decision ledger, all through coordination's control API (``services/coordination/
control_api.py``) with the shared client.

When coordination is down the clock is still read from the database (read-only) so the header
keeps ticking, but its controls are switched off and the page says why.
"""
from __future__ import annotations

import threading
from typing import TYPE_CHECKING, Any

from shared.errors import AppError, NotFound, ServiceUnavailable, ValidationError

if TYPE_CHECKING:
    from dashboard.backend import Backend

#: Clock actions coordination takes as ``POST /api/v1/clock {action, n, to}``.
CLOCK_ACTIONS = ("pause", "resume", "step", "advance", "reset", "rewind")
#: Keys of ``PATCH /api/v1/clock`` (mode, pace, speed, range, step size).
CLOCK_SETTINGS = ("mode", "pace", "speed", "replay_start", "replay_end", "step_minutes")
AUTOMATION_STATES = ("running", "paused", "stopped")
#: A cycle scans the universe and a pause waits for the cycle in flight: these calls may take
#: far longer than a read, so they get their own timeout (seconds).
SLOW_CALL_S = 120.0
#: Runs whose steps the timeline shows (each costs one GET /runs/<id> until it is finished).
TIMELINE_RUNS = 6


def _whole(value: Any, lo: int, hi: int, what: str, field: str) -> None:
    ok = isinstance(value, int) and not isinstance(value, bool) or (
        isinstance(value, str) and value.strip().isdigit())
    if not ok or not lo <= int(value) <= hi:
        raise ValidationError(f"{what} must be a whole number from {lo} to {hi:,}; "
                              f"you typed {value!r}", field=field)


def plain_clock_body(body: dict[str, Any]) -> None:
    """Check the step count, speed and step size of a clock control in plain words (the
    page shows the message as it is).

    Raises:
        ValidationError: naming the field and what to type.
    """
    if "n" in body:
        _whole(body["n"], 1, 100_000, "Steps", "n")
    if "step_minutes" in body:
        _whole(body["step_minutes"], 1, 1440, "Step size (minutes)", "step_minutes")
    if "speed" in body:
        v = body["speed"]
        try:
            speed = float(v) if not isinstance(v, bool) else float("nan")
        except (TypeError, ValueError):
            speed = float("nan")
        if not 0 < speed <= 1_000_000:  # NaN fails too
            raise ValidationError("Speed must be a number greater than 0 and at most "
                                  f"1,000,000 (e.g. 60 for a minute a second); you typed {v!r}",
                                  field="speed")


class Coordination:
    """Coordination's control routes for the dashboard, with the finished runs cached."""

    def __init__(self, backend: Backend) -> None:
        self.backend = backend
        # A finished run never changes: keep its steps instead of asking every poll.
        self._runs: dict[str, dict[str, Any]] = {}
        self._lock = threading.Lock()

    def _call(self, method: str, path: str, **kwargs: Any) -> Any:
        return self.backend.call("coordination", method, path, **kwargs)

    # -- clock ------------------------------------------------------------------------------
    def clock(self) -> dict[str, Any]:
        """Return coordination's clock with the session around ``now``; when coordination is
        down, the clock row read from the database with ``controls: False``."""
        try:
            snap = dict(self._call("GET", "/api/v1/clock"))
            snap.update(source="coordination", controls=True)
        except ServiceUnavailable as exc:
            snap = self.backend.market_clock_snapshot()
            snap.update(source="database", controls=False,
                        controls_message=f"coordination is down ({exc.message}); the clock is "
                                         "read from the database and cannot be changed")
        snap.update(self.backend.session_info(snap.get("now")))
        return snap

    def clock_action(self, action: str, body: dict[str, Any]) -> dict[str, Any]:
        """Send a clock control to coordination and return the clock after it.

        ``configure`` changes settings (PATCH, keys of ``CLOCK_SETTINGS``); the others are
        ``POST /api/v1/clock`` actions with ``n`` (steps) or ``to`` (advance).

        Raises:
            NotFound: an unknown action.
            ValidationError: a body key the action does not take.
            AppError: coordination's own refusal (e.g. 409 stepping a live clock).
            ServiceUnavailable: coordination is down.
        """
        plain_clock_body(body)
        if action == "configure":
            extra = set(body) - set(CLOCK_SETTINGS)
            if extra:
                raise ValidationError(f"unknown clock setting {sorted(extra)[0]!r}; known: "
                                      f"{list(CLOCK_SETTINGS)}", field=sorted(extra)[0])
            self._call("PATCH", "/api/v1/clock", json=body)
        elif action in CLOCK_ACTIONS:
            extra = set(body) - {"n", "to"}
            if extra:
                raise ValidationError(f"clock {action} takes only 'n' and 'to'",
                                      field=sorted(extra)[0])
            self._call("POST", "/api/v1/clock", json={"action": action, **body},
                       timeout=SLOW_CALL_S)
        else:
            raise NotFound(f"unknown clock action {action!r}; known: "
                           f"{[*CLOCK_ACTIONS, 'configure']}", field="action")
        return self.clock()

    # -- automation -------------------------------------------------------------------------
    def automation(self) -> dict[str, Any]:
        """Return the automation's state (a value saying "down" when coordination is)."""
        return self.backend.fetch("coordination", "/api/v1/automation")

    def set_automation(self, state: str) -> Any:
        """Start (``running``), pause or stop the automated cycle.

        Raises:
            ValidationError: an unknown state.
            ServiceUnavailable: coordination is down.
        """
        if state not in AUTOMATION_STATES:
            raise ValidationError(f"state must be one of {list(AUTOMATION_STATES)}, was "
                                  f"{state!r}", field="state")
        return self._call("POST", "/api/v1/automation", json={"state": state},
                          timeout=SLOW_CALL_S)

    def cycle(self, advance_steps: int = 0) -> Any:
        """Run one cycle now (after stepping the clock ``advance_steps`` times); return the run.

        Raises:
            AppError: coordination's refusal (e.g. 409 stepping a live clock).
            ServiceUnavailable: coordination is down or the cycle outlasted ``SLOW_CALL_S``.
        """
        return self._call("POST", "/api/v1/cycle", json={"advance_steps": advance_steps},
                          timeout=SLOW_CALL_S)

    # -- workflow runs ----------------------------------------------------------------------
    def workflow(self, limit: int = 20) -> dict[str, Any]:
        """Return the newest runs, the first ``TIMELINE_RUNS`` with their steps.

        A down coordination is a value (``available: False, down: True``), not an error.
        """
        listing = self.backend.fetch("coordination", "/api/v1/runs", params={"limit": limit})
        if not listing.get("available"):
            return listing
        runs = listing["data"] or []
        out = []
        for i, run in enumerate(runs):
            if i < TIMELINE_RUNS:
                run = {**run, "steps": self._steps(run)}
            out.append(run)
        with self._lock:  # forget runs that left the window
            keep = {r["id"] for r in out}
            for rid in [k for k in self._runs if k not in keep]:
                del self._runs[rid]
        return {"available": True, "runs": out}

    def _steps(self, run: dict[str, Any]) -> list[dict[str, Any]] | None:
        rid = run["id"]
        with self._lock:
            hit = self._runs.get(rid)
        if hit is not None:
            return hit["steps"]
        try:
            full = self._call("GET", f"/api/v1/runs/{rid}")
        except AppError:
            return None  # the list is still worth showing without this run's steps
        if full.get("status") != "running":
            with self._lock:
                self._runs[rid] = full
        return full.get("steps") or []

    # -- decision ledger --------------------------------------------------------------------
    def decisions(self, *, order_id: str | None = None, client_order_id: str | None = None,
                  symbol: str | None = None, decision_id: str | None = None,
                  limit: int = 50) -> list[dict[str, Any]]:
        """Return the ledger entries matching every filter given, newest first.

        coordination filters by order, client order id and symbol; ``decision_id`` (what
        reporting's trades carry) is matched here, within the other filters.

        Raises:
            ValidationError: no filter at all.
            ServiceUnavailable: coordination is down.
        """
        params = {k: v for k, v in (("order_id", order_id), ("client_order_id", client_order_id),
                                    ("symbol", symbol)) if v}
        if not params and not decision_id:
            raise ValidationError("give order_id, client_order_id, symbol or decision_id",
                                  field="order_id")
        if decision_id and not params:
            # client order ids are "co-<decision_id>" for the orders coordination places
            params["client_order_id"] = f"co-{decision_id}"
        rows = self._call("GET", "/api/v1/decisions", params={**params, "limit": limit}) or []
        if not rows and order_id and list(params) == ["order_id"]:
            # a bracket's stop or target has no decision of its own: its entry's explains it
            parent = self._parent_order_id(order_id)
            if parent:
                rows = self._call("GET", "/api/v1/decisions",
                                  params={"order_id": parent, "limit": limit}) or []
        if decision_id:
            rows = [r for r in rows if r.get("decision_id") == decision_id]
        return rows

    def _parent_order_id(self, order_id: str) -> str | None:
        """Return the parent of a bracket/OTO leg from paper trading; None otherwise."""
        try:
            order = self.backend.call("paper_trading", "GET", f"/api/v1/orders/{order_id}")
        except AppError:
            return None  # unknown order, or paper trading down: there is nothing more to show
        return (order or {}).get("parent_id") or None
