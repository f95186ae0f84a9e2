"""Exits the clock decides alone: flatten before the close, time stops, entry cut-off."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any


@dataclass(frozen=True)
class SessionWindow:
    """Where the market clock stands in the session."""

    now: datetime
    close: datetime | None  # None outside a session
    step_minutes: float = 0.0  # minutes to the next cycle

    @property
    def minutes_to_close(self) -> float | None:
        if self.close is None:
            return None
        return (self.close - self.now).total_seconds() / 60.0


def entries_allowed(window: SessionWindow, rules: Any) -> bool:
    """Return False outside a session and in its last ``no_entry_minutes_before_close``."""
    m = window.minutes_to_close
    return m is not None and m > rules.no_entry_minutes_before_close


def exit_reason(window: SessionWindow, opened_at: datetime | None, rules: Any) -> str | None:
    """Return why the clock alone closes a position now (``flatten`` / ``time_exit``) or None.

    A position is flattened in the last ``flatten_minutes_before_close`` minutes, or earlier
    one cycle earlier (so the next cycle can still see the exit filled and retry it).
    """
    m = window.minutes_to_close
    if m is not None and m <= rules.flatten_minutes_before_close + window.step_minutes:
        return "flatten"
    if (rules.max_holding_minutes is not None and opened_at is not None
            and (window.now - opened_at).total_seconds() / 60.0 >= rules.max_holding_minutes):
        return "time_exit"
    return None
