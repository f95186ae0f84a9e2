"""What the manager runs: the nine services, their start-order groups and command lines."""
from __future__ import annotations

import sys
from dataclasses import dataclass

from shared.config import SERVICES, Settings

#: Start order (issue 3): coordination, the critical services, the rest, then the dashboard.
#: Services inside a group start in parallel; a group starts once the one before is healthy.
START_GROUPS: tuple[tuple[str, ...], ...] = (
    ("coordination",),
    ("scanner", "pattern_analysis", "technical_analysis", "paper_trading"),
    ("pattern_recognition", "news", "reporting"),
    ("dashboard",),
)


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
