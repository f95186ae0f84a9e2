"""The session replay of tests/e2e/test_session_replay.py with the whole suite on PostgreSQL.

Same assertions, same two replays (the first with two alpaca-py bots beside it): the suite's
services, ``hybrid_manager.py migrate/start/replay`` and the bots all reach one throw-away
PostgreSQL database through ``DATABASE_URL`` (fixture ``pg_cluster``, tests/pg.py), a fresh
database per replay.  Ports are moved off the SQLite module's so the two never meet.

The built-in market is cut to ``UNIVERSE`` symbols (the replay trades its first 8 either
way): the owner stores every symbol's history before the first cycle, and on PostgreSQL that
took most of the test's time with the default 500 (~1.5x SQLite's bulk upsert time).

Opt-in (``SUITE_PG_REPLAY=1``): the two replays took 380 s on 2 loaded CPUs, beyond what the
20-minute CI budget has left; tests/e2e/test_pg_paths.py covers the same services' SQL on
PostgreSQL in ~35 s on every run.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e import test_session_replay as replay
from tests.e2e.test_session_replay import (  # noqa: F401 - the same tests, run here on PostgreSQL
    test_bots_trade_their_own_accounts_beside_the_automation,
    test_bracket_exits_only_ever_close_a_position,
    test_one_cycle_per_step_and_none_degraded,
    test_orders_filled_and_explained,
    test_report_pnl_equals_the_cash_ledger,
    test_same_seed_same_trades,
)

pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900),
              pytest.mark.skipif(not os.environ.get("SUITE_PG_REPLAY"),
                                 reason="opt-in: SUITE_PG_REPLAY=1 (two suite replays, ~6 min)")]
BASE = 6420
UNIVERSE = "40"


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, pg_cluster) -> Iterator[tuple[dict, dict, Path]]:  # type: ignore[no-untyped-def]
    """Both replays, each on a fresh migrated-by-the-manager PostgreSQL database."""
    urls = iter([pg_cluster.create_database(migrated=False) for _ in range(2)])
    plain_env = replay._env
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(replay, "BASE", BASE)
        url = {"now": ""}

        def env(tmp: Path) -> dict[str, str]:
            out = plain_env(tmp)
            out["DATABASE_URL"] = url["now"]
            out["TRADING__market__universe_size"] = UNIVERSE
            return out

        mp.setattr(replay, "_env", env)
        first_dir = tmp_path_factory.mktemp("pg_suite1")
        url["now"] = next(urls)
        first = replay._replay_on_fresh_suite(first_dir, bots=True)
        url["now"] = next(urls)
        second = replay._replay_on_fresh_suite(tmp_path_factory.mktemp("pg_suite2"))
        yield first, second, first_dir
