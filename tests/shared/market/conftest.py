"""Fixtures for the market tests: a migrated DB, a stepped replay clock, a data manager."""
from __future__ import annotations

from pathlib import Path

import pytest

from shared.config import Settings
from shared.db import Database
from shared.market import ClockController, DataManager, get_calendar
from tests.conftest import make_settings


@pytest.fixture(scope="session")
def calendar():
    return get_calendar()


@pytest.fixture
def market_settings(tmp_path: Path) -> Settings:
    return make_settings(tmp_path, market__universe_size=50,
                         market__data_cache_dir=str(tmp_path / "data-cache"),
                         market__csv_paths=[str(tmp_path / "csv")])


@pytest.fixture
def controller(db: Database, market_settings: Settings) -> ClockController:
    ctl = ClockController(db, market_settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max")
    return ctl


@pytest.fixture
def manager(db: Database, market_settings: Settings, controller: ClockController):
    dm = DataManager(market_settings, db, clock=controller.clock, owner=True)  # no stale clock cache
    yield dm
    dm.close()
