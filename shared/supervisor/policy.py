"""When to restart a service that failed, and when to give up (pure: no processes, no clock)."""
from __future__ import annotations

from dataclasses import dataclass

from shared.config_sections.supervisor import Section


@dataclass(frozen=True)
class Decision:
    give_up: bool
    delay_s: float
    recent_failures: int


@dataclass(frozen=True)
class RestartPolicy:
    """Exponential backoff over the failures inside a sliding window, with a crash-loop limit."""

    initial_s: float = 0.25
    factor: float = 2.0
    max_s: float = 30.0
    limit: int = 5
    window_s: float = 120.0

    @classmethod
    def from_settings(cls, s: Section) -> RestartPolicy:
        return cls(s.backoff_initial_s, s.backoff_factor, s.backoff_max_s,
                   s.crash_loop_limit, s.crash_loop_window_s)

    def recent(self, failures: list[float], now: float) -> list[float]:
        """Return the failure times still inside the window ending at ``now``."""
        return [t for t in failures if now - t <= self.window_s]

    def decide(self, failures: list[float], now: float) -> Decision:
        """Decide after a failure at ``now``; ``failures`` holds the earlier failure times.

        The delay doubles with each failure in the window; once ``limit`` restarts happened in
        the window, the next failure gives up (the service is marked failed).
        """
        recent = self.recent(failures, now)
        if len(recent) >= self.limit:
            return Decision(True, 0.0, len(recent) + 1)
        delay = min(self.max_s, self.initial_s * self.factor ** len(recent))
        return Decision(False, delay, len(recent) + 1)
