"""Which processes run each service, as ``hybrid_manager.py status`` reports them.

The manager's state file (``shared.supervisor.status.collect`` reads it for ``status``) is the
source of truth: its ``pid`` is the process the manager started (gunicorn's master, or the
stream server itself); the workers are that process's children.  Without a running manager
there is no master pid to show, only the pid of the worker that answered ``/health``.
"""
from __future__ import annotations

from typing import Any

import psutil

from shared.config import Settings
from shared.supervisor.rundir import RunDir
from shared.supervisor.status import collect


def worker_pids(master: int | None) -> list[int]:
    """Return the pids of ``master``'s live child processes, ascending (empty when gone)."""
    if not master:
        return []
    try:
        kids = psutil.Process(master).children(recursive=True)
    except psutil.Error:
        return []
    return sorted(k.pid for k in kids if _alive(k))


def _alive(p: psutil.Process) -> bool:
    try:
        return p.status() != psutil.STATUS_ZOMBIE
    except psutil.Error:
        return False


def manager_view(settings: Settings) -> dict[str, Any]:
    """Return ``{"manager_pid", "services": {name: {master_pid, worker_pids, manager_state}}}``
    as the manager reports them (no services while no manager runs this suite)."""
    run_dir = RunDir.for_settings(settings)
    if run_dir.manager_pid() is None:  # collect() would open the database for nothing
        return {"manager_pid": None, "services": {}}
    view = collect(settings, run_dir)
    return {"manager_pid": view["manager_pid"],
            "services": {s["name"]: {"master_pid": s.get("pid"),
                                     "worker_pids": worker_pids(s.get("pid")),
                                     "manager_state": s.get("state")}
                         for s in view["services"]}}


__all__ = ["manager_view", "worker_pids"]
