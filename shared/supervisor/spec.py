"""What the manager runs: the services, their start-order groups and command lines."""
from __future__ import annotations

import sys
from dataclasses import dataclass

from shared.config import SERVICES, Settings

#: Start order (issue 3): coordination, the critical services, the rest, then the dashboard.
#: Services inside a group start in parallel; a group starts once the one before is healthy.
START_GROUPS: tuple[tuple[str, ...], ...] = (
    ("coordination",),
    ("scanner", "pattern_analysis", "technical_analysis", "paper_trading"),
    ("pattern_recognition", "news", "reporting", "paper_streams"),
    ("dashboard",),
)


#: glibc malloc settings every service gets unless its environment sets them.  A fixed trim
#: threshold also fixes the mmap threshold (glibc stops raising it after each large free),
#: so numpy's big per-scan temporaries are unmapped when freed instead of staying on the heap:
#: the scanner's worker otherwise grew ~50 MB over its next cycles.  Two arenas per process:
#: glibc gives each thread that mallocs its own arena (up to 8 per core), and freed memory
#: stays in the arena it came from, so a service's many short-lived request and poller
#: threads left tens of MB free but unreturned (coordination: 8 -> 44-49 MB free in glibc in
#: 4 minutes while 45-55 MB were in use); under the GIL the threads gain nothing from more.
#: Docker: the Dockerfile.
MALLOC_ENV: dict[str, str] = {"MALLOC_TRIM_THRESHOLD_": "1048576", "MALLOC_ARENA_MAX": "2"}


def child_env(environ: dict[str, str]) -> dict[str, str]:
    """Return the environment the manager starts services with: ``environ`` first, then
    ``MALLOC_ENV`` for what it leaves unset, and unbuffered output."""
    return {**MALLOC_ENV, **environ, "PYTHONUNBUFFERED": "1"}


@dataclass(frozen=True)
class ServiceSpec:
    """One service as the manager sees it."""

    name: str
    module: str
    port: int
    group: int
    url: str

    def command(self, dev: bool = False) -> list[str]:
        """Return the argv that runs this service (its package's ``__main__``)."""
        return [sys.executable, "-m", self.module, *(["--dev"] if dev else [])]


def service_specs(settings: Settings) -> list[ServiceSpec]:
    """Return every service in start order with its configured port and URL."""
    modules = {name: module for name, _, module in SERVICES}
    out = []
    for group, names in enumerate(START_GROUPS):
        for name in names:
            out.append(ServiceSpec(name, modules[name], settings.port(name), group,
                                   settings.url(name)))
    return out


def spec_for(settings: Settings, name: str) -> ServiceSpec:
    """Return the spec of service ``name``.

    Raises:
        KeyError: naming the unknown service and the known ones.
    """
    for spec in service_specs(settings):
        if spec.name == name:
            return spec
    known = ", ".join(s.name for s in service_specs(settings))
    raise KeyError(f"unknown service {name!r}; known: {known}")
