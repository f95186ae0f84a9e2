"""The session replay of tests/e2e/test_session_replay.py with the whole suite on PostgreSQL.

Same assertions, same two replays (the first with two alpaca-py bots beside it): the suite's
services, ``hybrid_manager.py migrate/start/replay`` and the bots all reach one throw-away
PostgreSQL database through ``DATABASE_URL`` (fixture ``pg_cluster``, tests/pg.py), a fresh
database per replay.  Ports are moved off the SQLite module's so the two never meet.

The built-in market is cut (the replay trades its first 8 symbols either way): the owner
stores every symbol's history before the first cycle, and on PostgreSQL that was most of the
test's time with the default 500 symbols (~1.5x SQLite's bulk upsert time).

By default (every CI run) the market has ``UNIVERSE`` (12) symbols and a shorter history
(``SMALL_HISTORY``, the feed's backfill depth per timeframe): the same six tests and
assertions at a size that fits the 20-minute budget.  ``SUITE_PG_REPLAY=1`` runs the full
size (40 symbols, the default history depth; 380 s on 2 loaded CPUs).  The module prints each
replay's wall time.

The short history once made the same-seed comparison flaky under load (issue 21): the
analyses read further back than the owner kept, into bars the backfill behind the suite's
first clock time had stored before the replay's jump cut it short, an amount that depended on
timing.  They now stop at the owner's depth (``shared.market.depth``).
"""
from __future__ import annotations

import os
import time
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

MODE = os.environ.get("SUITE_PG_REPLAY", "")
FULL = MODE not in ("", "small")
pytestmark = [pytest.mark.e2e, pytest.mark.slow, pytest.mark.timeout(900 if FULL else 400)]
BASE = 6420
UNIVERSE = "40" if FULL else "12"
#: the feed's backfill depth (days per timeframe) of the default run: a 15m strategy's
#: indicators, the 1h trend and the daily averages still have their windows; the minutes (the
#: bulk of the rows) only the session before
SMALL_HISTORY = "{1m: 1, 5m: 5, 15m: 10, 1h: 20, 1d: 100}"


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
            if not FULL:
                out["TRADING__market__ingest__history_days"] = SMALL_HISTORY
            return out

        mp.setattr(replay, "_env", env)
        plain_manager, phases = replay._manager, []

        def manager(env: dict[str, str], *args: str):  # type: ignore[no-untyped-def]
            t = time.perf_counter()
            try:
                return plain_manager(env, *args)
            finally:
                phases.append(f"{args[0]} {time.perf_counter() - t:.1f} s")

        mp.setattr(replay, "_manager", manager)
        first_dir = tmp_path_factory.mktemp("pg_suite1")
        url["now"] = next(urls)
        t0 = time.perf_counter()
        first = replay._replay_on_fresh_suite(first_dir, bots=True)
        t1 = time.perf_counter()
        url["now"] = next(urls)
        second = replay._replay_on_fresh_suite(tmp_path_factory.mktemp("pg_suite2"))
        print(f"\nPostgreSQL session replay ({UNIVERSE} symbols, "
              f"{'default' if FULL else 'short'} history): first (with bots) "
              f"{t1 - t0:.1f} s, second {time.perf_counter() - t1:.1f} s "
              f"({', '.join(phases)}; history wait "
              f"{first['replay']['history_wait_seconds']} s and "
              f"{second['replay']['history_wait_seconds']} s, replay steps "
              f"{first['replay']['seconds']} s and {second['replay']['seconds']} s); "
              f"load {os.getloadavg()[0]:.1f}")
        yield first, second, first_dir
