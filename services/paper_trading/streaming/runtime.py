"""What the stream app holds while it runs (one object under one typed app key)."""
from __future__ import annotations

import time
from collections import deque
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web


@dataclass(eq=False)
class Runtime:
    """The settings, and what ``on_startup`` builds: database, hub, auth, the poller thread,
    and the dashboard's live poller once someone subscribes to it."""

    settings: Any
    db: Any = None
    hub: Any = None
    auth: Any = None
    poller: Any = None
    dashboard: Any = None
    lag_task: Any = None
    lag_ms_max: float = 0.0
    lag_ms_last: float = 0.0
    #: the last 100 lag samples (5 s): /health's recent worst
    lag_recent: deque[float] = field(default_factory=lambda: deque(maxlen=100))
    started: float = field(default_factory=time.time)


RUNTIME = web.AppKey("runtime", Runtime)
