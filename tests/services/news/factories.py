"""Daily bars with planted gaps and moves, for news tests."""
from __future__ import annotations

import pandas as pd

from shared.market.calendar import get_calendar

# (session, open, close): +5% gap on the 5th, -6% gap on the 7th, a +4% day on the 11th.
PLAN = [("2024-03-01", 100.0, 100.2), ("2024-03-04", 100.1, 100.0),
        ("2024-03-05", 105.0, 105.3), ("2024-03-06", 105.2, 105.1),
        ("2024-03-07", 98.8, 98.9), ("2024-03-08", 98.9, 99.2),
        ("2024-03-11", 99.3, 103.5), ("2024-03-12", 103.4, 103.6)]


def daily_frame(plan: list[tuple[str, float, float]] = PLAN) -> pd.DataFrame:
    cal = get_calendar()
    idx = pd.DatetimeIndex([cal.session_bounds(s)[0] for s, _, _ in plan])
    return pd.DataFrame({"open": [o for _, o, _ in plan], "close": [c for _, _, c in plan]},
                        index=idx)


def session_open(day: str) -> pd.Timestamp:
    return get_calendar().session_bounds(day)[0]


def session_close(day: str) -> pd.Timestamp:
    return get_calendar().session_bounds(day)[1]
