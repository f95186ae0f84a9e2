"""Settings of the hybrid manager's supervision (see config/default.yaml, section `supervisor`)."""
from __future__ import annotations

from typing import Literal

from pydantic import Field

from shared.config_sections._base import StrictModel


class Section(StrictModel):
    """How the manager starts, probes, restarts and stops the nine services."""

    # Who runs the processes: the manager (hybrid_manager.py), or Docker Compose (its
    # restart policy; env SUITE_SUPERVISOR=compose, set by docker-compose.yml), where nothing
    # can restart a service from the dashboard: the System page says how instead.
    kind: Literal["manager", "compose"] = "manager"
    # Spawn every process at once to import its libraries, then let them build their app
    # and bind group by group (False: spawn each group only after the previous is healthy).
    prewarm: bool = True
    # Fork every service from one process that imported pandas, TA-Lib, Flask... once
    # (shared/supervisor/zygote.py) instead of starting ten interpreters that each import them.
    fork_server: bool = True
    start_timeout_s: float = Field(30.0, gt=0)          # per start-order group
    health_interval_s: float = Field(2.0, gt=0)         # health poll period once running
    health_timeout_s: float = Field(2.0, gt=0)
    unhealthy_threshold: int = Field(3, ge=1)           # consecutive failures before a restart
    backoff_initial_s: float = Field(0.25, ge=0)
    backoff_factor: float = Field(2.0, ge=1)
    backoff_max_s: float = Field(30.0, gt=0)
    crash_loop_limit: int = Field(5, ge=1)              # restarts within the window -> failed
    crash_loop_window_s: float = Field(120.0, gt=0)
    stable_after_s: float = Field(30.0, gt=0)           # healthy this long resets the backoff
    stop_timeout_s: float = Field(10.0, gt=0)           # SIGTERM, then SIGKILL after this
    heartbeat_interval_s: float = Field(5.0, gt=0)      # each service's registry heartbeat
    graceful_timeout_s: int = Field(5, ge=1)            # gunicorn's own worker shutdown limit
    # A worker's memory level is read this long after it started (its caches full), then at
    # most every memory_check_s; see services.<name>.recycle_growth_mb.
    worker_warmup_s: float = Field(300.0, ge=0)
    memory_check_s: float = Field(20.0, gt=0)
