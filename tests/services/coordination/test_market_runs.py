"""Coordination's side of a new market run, with paper trading's and reporting's own use
cases in process (each on its own connection, as in separate processes): a rewind, a range
that moves the time back, a change that does not, and an owner that fails midway."""
from __future__ import annotations

import json
from datetime import datetime
from typing import Any

import pytest

from services.coordination.service import CoordinationService
from services.paper_trading.service_layer.service import PaperTradingService
from services.reporting import runs as report_runs
from services.reporting.service import ReportingService
from shared.db import Database, migrate
from shared.errors import ServiceUnavailable
from shared.market import reset_data_manager
from tests.conftest import make_settings


class Owners:
    """Reporting's and paper trading's run use cases, called as their routes call them."""

    def __init__(self, settings: Any, fail_start: bool = False) -> None:
        self.rep = ReportingService(settings, Database.from_settings(settings))
        self.pt = PaperTradingService(settings, database=Database.from_settings(settings))
        self.fail_start = fail_start
        self.calls: list[str] = []

    def close_report_run(self, run: int) -> dict[str, Any]:
        self.calls.append(f"close {run}")
        return report_runs.close_run(self.rep, run, lambda o: json.dumps(o, default=str))["fence"]

    def start_broker_run(self, run: int, fence: dict[str, Any],
                         starts_at: str) -> dict[str, Any]:
        self.calls.append(f"start {run} at {starts_at}")
        if self.fail_start:
            raise ServiceUnavailable("paper_trading did not answer: ConnectionError")
        return self.pt.market_runs.start(run, fence, datetime.fromisoformat(starts_at))


@pytest.fixture
def world(tmp_path):  # noqa: ANN001, ANN201
    settings = make_settings(tmp_path, market__clock__cache_ms=0)
    migrate(Database.from_settings(settings))
    reset_data_manager()
    owners = Owners(settings)
    owners.pt.ensure_accounts()
    coord = CoordinationService(settings, Database.from_settings(settings), gateway=owners)
    coord.configure_clock(pace="multiplier", speed=130.0, step_minutes=5)
    coord.clock_action("pause")
    yield coord, owners, settings
    reset_data_manager()


def test_a_range_that_moves_the_time_back_starts_a_new_run(world) -> None:  # noqa: ANN001
    coord, owners, _ = world
    coord.configure_clock(replay_start="2024-03-04")           # forward: the same run
    coord.configure_clock(speed=200.0)
    assert coord.clock_view()["run"] == 1 and owners.calls == []
    view = coord.configure_clock(replay_start="2024-02-01")    # back: a new run
    assert (view["run"], view["speed"], view["pace"]) == (2, 200.0, "multiplier")
    assert view["now"] == "2024-02-01T14:30:00+00:00" and view["paused"]
    assert owners.calls == ["close 1", "start 2 at 2024-02-01T14:30:00+00:00"]
    assert owners.pt.market_runs.current() == {"run": 2, "clock_run": 2}
    view = coord.clock_action("rewind")                        # to the range's first open
    assert view["run"] == 3 and view["now"] == "2024-02-01T14:30:00+00:00"


def test_an_owner_failing_midway_leaves_the_clock_and_the_run(world) -> None:  # noqa: ANN001
    coord, owners, settings = world
    coord.clock_action("step", 6)
    coord.clock_action("resume")
    before = coord.clock_view()
    owners.fail_start = True
    with pytest.raises(ServiceUnavailable):
        coord.clock_action("rewind")
    after = coord.clock_view()
    assert after["run"] == 1 and not after["paused"] and after["now"] >= before["now"]
    assert owners.pt.market_runs.current()["run"] == 1
    owners.fail_start = False
    assert coord.clock_action("rewind")["run"] == 2  # sent again, it completes
    assert not coord.clock_view()["paused"]
