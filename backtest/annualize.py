"""How many return periods a year the data has, from its own spacing and calendar.

The report's ratios are computed on one return per period (a day for intraday and daily
bars, else one per bar), so the annualising factor depends on what the bars are: exchange
sessions trade 252 days a year, a market open around the clock (bars on weekends) 365;
weekly bars give 52 periods and monthly 12.  Assuming 252 whatever the bars are turned a
53.7% CAGR on monthly bars into 882,987%.
"""
from __future__ import annotations

import numpy as np
import pandas as pd

DAY_NS = 86_400 * 10**9


def round_the_clock(index: pd.DatetimeIndex, tz: str = "UTC") -> bool:
    """Return True when the bars include weekends (a 24/7 market such as crypto)."""
    local = pd.DatetimeIndex(index).tz_convert(tz)
    return bool((local.day_of_week >= 5).mean() > 0.05)


def periods_per_year(index: pd.DatetimeIndex, tz: str = "UTC") -> int:
    """Return the return periods a year of bars on ``index`` (sorted, tz-aware)."""
    if len(index) < 2:
        return 252
    step = float(np.median(np.diff(pd.DatetimeIndex(index).as_unit("ns").asi8))) / DAY_NS
    if step >= 25:
        return 12
    if step >= 6:
        return 52
    return 365 if round_the_clock(index, tz) else 252
