#!/usr/bin/env python
"""Run and supervise the nine trading services (see ``python hybrid_manager.py --help``).

The logic lives in ``shared.supervisor``; this file is only the entry point.  A backtest
(``replay``, ``optimize``) goes straight to the backtester, which needs none of the
supervisor's modules and so starts in a fraction of the time.
"""
import sys

if len(sys.argv) > 1 and sys.argv[1] in ("replay", "optimize"):
    from backtest.cli import main
else:
    from shared.supervisor.cli import main

if __name__ == "__main__":
    sys.exit(main())
