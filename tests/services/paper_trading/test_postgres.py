"""Paper trading's core tests, the same functions with the same assertions, on PostgreSQL.

Each test below is imported from its SQLite module and runs here against a fresh database of
the throw-away cluster (tests/pg.py), copied from the migrated template: ``settings`` names it
by ``database.url`` and ``db`` is the ``PgDatabase`` the service gets, so fills on the clock,
the ledger exact to the cent (one account per key id, through alpaca-py and a real HTTP
server), orders idempotent on client_order_id, racing fill processors, expiry, replace and
cancel and the book's reserve all run on PostgreSQL.
"""
from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.config import Settings
from shared.db import Database
from shared.db import database as _database
from shared.db.postgres import PgDatabase
from tests.conftest import make_settings
from tests.pg import PgCluster
from tests.services.paper_trading import test_alpaca_semantics as _alpaca
from tests.services.paper_trading import test_intake as _intake
from tests.services.paper_trading import test_service as _service

market = _alpaca.market


@pytest.fixture
def pg_fresh(pg_cluster: PgCluster) -> str:
    return pg_cluster.create_database()


@pytest.fixture
def settings(tmp_path: Path, pg_fresh: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    def on_pg(path: Path, **overrides: object) -> Settings:
        return make_settings(path, database__url=pg_fresh, **overrides)

    # the tests that build their own service (make()) get this database too
    monkeypatch.setattr(_service, "make_settings", on_pg)
    yield on_pg(tmp_path)
    # the services' databases (get_database's registry, one per URL) end with the test
    for key in [k for k in _database._registry if k == pg_fresh]:
        _database._registry.pop(key).close()


@pytest.fixture
def db(settings: Settings) -> Iterator[Database]:
    database = Database.from_settings(settings)
    assert isinstance(database, PgDatabase)
    yield database
    database.close()


test_market_order_waits_for_the_next_bar_open = _service.test_market_order_waits_for_the_next_bar_open
test_client_order_id_is_idempotent = _service.test_client_order_id_is_idempotent
test_racing_processors_never_fill_twice = _service.test_racing_processors_never_fill_twice
test_bracket_exits_become_oco_after_entry_fill = _service.test_bracket_exits_become_oco_after_entry_fill
test_day_orders_expire_at_the_close_gtc_do_not = _service.test_day_orders_expire_at_the_close_gtc_do_not
test_cash_account_cannot_go_negative_or_short = _service.test_cash_account_cannot_go_negative_or_short
test_replace_and_cancel = _service.test_replace_and_cancel
test_trailing_stop_water_mark_persists_between_sweeps = \
    _service.test_trailing_stop_water_mark_persists_between_sweeps
test_reset_restores_cash_and_keeps_the_ledger_invariant = \
    _service.test_reset_restores_cash_and_keeps_the_ledger_invariant
test_a_different_order_under_a_used_client_order_id_is_refused = \
    _intake.test_a_different_order_under_a_used_client_order_id_is_refused
test_reserved_counter_follows_every_order_write = _intake.test_reserved_counter_follows_every_order_write
test_each_key_id_trades_its_own_account = _alpaca.test_each_key_id_trades_its_own_account
test_client_order_id_is_unique_per_account_and_idempotent = \
    _alpaca.test_client_order_id_is_unique_per_account_and_idempotent
