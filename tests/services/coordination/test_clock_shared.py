"""The clock coordination moves is the clock the other services read (separate connections,
as in separate processes): reporting must never see a snapshot time as in the future."""
from __future__ import annotations

from services.coordination.service import CoordinationService
from services.reporting.service import ReportingService
from shared.db import Database, migrate
from shared.market import reset_data_manager
from tests.conftest import make_settings
from tests.services.coordination.fakes import FakeGateway


def test_reporting_reads_the_clock_coordination_moved(tmp_path) -> None:  # type: ignore[no-untyped-def]
    # no read cache: a change must show at the very next read
    settings = make_settings(tmp_path, market__clock__cache_ms=0)
    migrate(Database.from_settings(settings))
    reset_data_manager()  # the process's data manager must use this test's database
    try:
        coord = CoordinationService(settings, Database.from_settings(settings),
                                    gateway=FakeGateway())
        rep = ReportingService(settings, Database.from_settings(settings))
        assert rep.now() == coord.clock.now()  # both on the settings' default (no row yet)
        coord.configure_clock(pace="step", replay_start="2024-11-29", replay_end="2024-11-29")
        coord.clock_action("step", 3)
        assert rep.now() == coord.clock.now()
        assert rep.now().isoformat() == "2024-11-29T14:33:00+00:00"
    finally:
        reset_data_manager()
