"""The workflow loop's lease and step claims: one driver per suite, a handover on expiry, no
clock step cycled twice, no loop cycle after a stop."""
from __future__ import annotations

import pandas as pd
import pytest

from services.coordination.engine import LEASE, WorkflowLoop
from services.coordination.service import CoordinationService
from shared.errors import Conflict
from tests.services.coordination.fakes import FakeGateway


def _engines(settings, db):  # type: ignore[no-untyped-def]
    svcs = [CoordinationService(settings, db, gateway=FakeGateway()) for _ in range(2)]
    svcs[0].set_automation("running")
    return svcs, [WorkflowLoop(s) for s in svcs]


def _step(svcs) -> None:  # type: ignore[no-untyped-def]
    """Move the clock to the next cycle step (coordination's step: one 5-minute bar)."""
    now = svcs[0].clock.now_ts()
    svcs[0].clock_ctl.advance(now + pd.Timedelta(minutes=svcs[0].step_minutes()))
    for s in svcs:
        s.clock.invalidate()


def test_only_the_lease_holder_cycles_and_expiry_hands_over(settings, db) -> None:  # type: ignore[no-untyped-def]
    svcs, (a, b) = _engines(settings, db)
    assert a.tick() is not None          # a takes the lease and cycles the first step
    assert b.tick() is None              # b is refused while a's lease runs
    assert a.tick() is None              # the same step is never cycled twice
    _step(svcs)
    assert b.tick() is None
    assert a.tick() is not None
    # a dies without releasing: once its lease expires, b takes over at the next step
    db.execute_with_retry("UPDATE coord_lease SET expires_at = 0 WHERE name = ?", (LEASE,))
    _step(svcs)
    assert b.tick() is not None
    assert svcs[0].repo.lease(LEASE)["holder"] == b.holder
    _step(svcs)
    assert a.tick() is None              # a came back: b holds the lease now
    runs = svcs[0].runs(100, None)
    assert len(runs) == 3 and len({r["clock_ts"] for r in runs}) == 3
    assert {r["trigger"] for r in runs} == {"loop"}


def test_a_stale_holder_cannot_claim_a_step(settings, db) -> None:  # type: ignore[no-untyped-def]
    svcs, (a, b) = _engines(settings, db)
    assert a.tick() is not None
    db.execute_with_retry("UPDATE coord_lease SET expires_at = 0 WHERE name = ?", (LEASE,))
    assert b.tick() is None  # b takes the lease, but this step was cycled already
    _step(svcs)
    repo = svcs[0].repo
    # a's lease lapsed: its claim is refused even though the step is new
    assert not repo.claim_step("s-new", run_id="x1", trigger="loop", clock_ts="t",
                               holder=a.holder, require_running=True)
    assert repo.claim_step("s-new", run_id="x2", trigger="loop", clock_ts="t",
                           holder=b.holder, require_running=True)
    assert not repo.claim_step("s-new", run_id="x3", trigger="replay", clock_ts="t")


def test_a_stop_is_acknowledged_and_ends_the_loop_cycles(settings, db) -> None:  # type: ignore[no-untyped-def]
    svcs, (a, _) = _engines(settings, db)
    assert a.tick() is not None
    out = svcs[1].set_automation("stopped")
    assert out["state"] == "stopped" and out["acknowledged"] is True
    _step(svcs)
    assert a.tick() is None
    # the stop also holds inside the claim's own transaction (a tick that read "running")
    assert not svcs[0].repo.claim_step("s-late", run_id="x", trigger="loop", clock_ts="t",
                                       holder=a.holder, require_running=True)
    # a replay may now drive the clock: each step once
    assert svcs[1].run_cycle("replay", claim=True)["status"] == "ok"
    with pytest.raises(Conflict, match="already cycled"):
        svcs[1].run_cycle("replay", claim=True)
    _step(svcs)
    assert svcs[1].run_cycle("replay", claim=True)["status"] == "ok"  # the next step


def test_stop_waits_for_a_loop_cycle_in_flight(settings, db) -> None:  # type: ignore[no-untyped-def]
    svcs, _ = _engines(settings, db)
    repo = svcs[0].repo
    assert repo.claim_step("s1", run_id="r1", trigger="loop", clock_ts="2024-01-02T14:30:00+00:00")
    out = svcs[0].set_automation("paused", wait_s=0.2)  # r1 never finishes
    assert out["acknowledged"] is False
    repo.finish_run("r1", status="ok", duration_ms=1.0, degraded=[], summary={}, error=None,
                    steps=[])
    assert svcs[0].set_automation("paused", wait_s=5)["acknowledged"] is True
