#!/usr/bin/env python
"""Run and supervise the nine trading services (see ``python hybrid_manager.py --help``).

The logic lives in ``shared.supervisor``; this file is only the entry point.
"""
import sys

from shared.supervisor.cli import main

if __name__ == "__main__":
    sys.exit(main())
