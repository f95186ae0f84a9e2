#!/usr/bin/env python
"""Run and supervise the nine trading services (see ``python hybrid_manager.py --help``).

The supervisor lives in ``shared.supervisor``; this entry point composes it with the commands
their owners register: paper trading's ``accounts``, coordination's ``reset``, the
backtester's ``replay`` and ``optimize``, and the database's ``db copy`` and ``db verify``.  A backtest goes straight to the backtester, which
needs none of the supervisor's modules and so starts in a fraction of the time.
"""
from __future__ import annotations

import sys

BACKTEST = ("replay", "optimize")


def main(argv: list[str] | None = None) -> int:
    """Run one command of the manager; return its exit status."""
    argv = sys.argv[1:] if argv is None else list(argv)
    if argv[:1] and argv[0] in BACKTEST:
        from backtest.cli import main as backtest

        return backtest(argv)
    from backtest.cli import register as backtest_commands
    from services.coordination.runs_cli import register as run_commands
    from services.paper_trading.entrypoints.accounts_cli import register as account_commands
    from shared.db.copy import register as db_commands
    from shared.supervisor.cli import main as manager

    return manager(argv, (account_commands, run_commands, backtest_commands, db_commands))


if __name__ == "__main__":
    sys.exit(main())
