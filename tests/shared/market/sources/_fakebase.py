"""The fakes' common part: the one day of bars every fake serves, and ``FakeApi``."""
from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import pandas as pd
from flask import Flask, request

SLOW_S = 0.6  # a "slow" forced answer's delay
DAY = "2024-03-05"
PRE_OPEN = pd.Timestamp("2024-03-05T14:00Z")  # 09:00 New York
OPEN = pd.Timestamp("2024-03-05T14:30Z")  # 09:30 New York
CLOSE = pd.Timestamp("2024-03-05T21:00Z")  # 16:00 New York
DAYS = ("2024-03-04", "2024-03-05", "2024-03-06")


def price(i: int, part: str) -> str:
    """Return bar ``i``'s price ``part`` as the text a provider sends ('180.15')."""
    base = 18000 + i * 5  # cents
    cents = {"open": base, "high": base + 40, "low": base - 30, "close": base + 10}[part]
    return f"{cents // 100}.{cents % 100:02d}"


def volume(i: int) -> int:
    return 1000 + 10 * i


def intraday(minutes: int, *, pre: bool = True) -> list[pd.Timestamp]:
    """Return the open times of the fake day's bars of ``minutes`` (pre-market first)."""
    start = PRE_OPEN if pre else OPEN
    return list(pd.date_range(start, CLOSE, freq=f"{minutes}min", inclusive="left"))


def session_bars(minutes: int) -> list[tuple[int, pd.Timestamp]]:
    """Return (index into the fake's bars, open time) of the regular-hours bars."""
    return [(i, t) for i, t in enumerate(intraday(minutes)) if t >= OPEN]


class FakeApi:
    """One provider's fake: a Flask app, its calls, and answers forced ahead of the normal."""

    def __init__(self, name: str, forced: dict[str, Callable[[], Any]]) -> None:
        self.app = Flask(f"fake_{name}")
        self.calls: list[str] = []
        self.queue: list[str] = []
        self._forced = forced

        @self.app.before_request
        def _gate() -> Any:
            self.calls.append(request.full_path)
            if self.queue:
                kind = self.queue.pop(0)
                if kind == "slow":  # every fake: the normal answer, after SLOW_S
                    time.sleep(SLOW_S)
                    return None
                return self._forced[kind]()
            return None

    def force(self, *kinds: str) -> None:
        self.queue.extend(kinds)
