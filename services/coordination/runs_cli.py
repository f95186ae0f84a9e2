"""``hybrid_manager.py reset``: rewind the running suite's replay clock to its first open in
a new market run (coordination's ``POST /api/v1/clock {"action": "rewind"}``; the closed
run is archived by its owners, see docs/ARCHITECTURE.md "Market runs")."""
from __future__ import annotations

import argparse
import json
from typing import Any

from shared.config import Settings


def add_parser(sub: Any) -> None:
    """Register the ``reset`` subcommand on the manager's subparsers."""
    p = sub.add_parser("reset", help="start a new market run: the replay clock back to its "
                                     "first open, speed and mode kept, the run before archived")
    p.add_argument("--json", action="store_true", help="print the clock as JSON")


def register(sub: Any) -> dict[str, Any]:
    """Add ``reset`` to the manager's subparsers; return its handler (hybrid_manager.py)."""
    add_parser(sub)
    return {"reset": cmd_reset}


def cmd_reset(settings: Settings, _rd: Any, args: argparse.Namespace) -> int:
    """Ask the running coordination for a new market run; return the exit status."""
    from shared.errors import AppError
    from shared.http import ServiceClient

    client = ServiceClient.for_service("coordination", settings, timeout=120.0, retries=0)
    try:
        clock = client.post("/api/v1/clock", json={"action": "rewind"})
    except AppError as exc:
        print(f"reset failed: {exc.message}")
        return 1
    if args.json:
        print(json.dumps(clock, indent=2))
    else:
        print(f"market run {clock['run']} started at {clock['now']} (a {clock['mode']} at "
              f"x{clock['speed']:g}, {'paused' if clock['paused'] else 'running'}); the run "
              f"before is archived")
    return 0
