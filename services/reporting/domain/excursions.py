"""Maximum adverse and favourable excursion of round trips, from the bars they lived through."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

from services.reporting.domain.models import RoundTrip
from shared.domain.money import D

_MICRO = Decimal("0.000001")


def _window(bars: pd.DataFrame, trip: RoundTrip, bar: timedelta) -> pd.DataFrame:
    """Return the bars whose interval overlaps the trip (bar ``ts`` is the open time)."""
    idx = bars.index
    start = int(idx.searchsorted(pd.Timestamp(trip.entry_time) - pd.Timedelta(bar), "right"))
    if trip.exit_time is None:
        return bars.iloc[start:]
    end = int(idx.searchsorted(pd.Timestamp(trip.exit_time), "right"))
    return bars.iloc[start:end]


def excursion(trip: RoundTrip, high: float | None, low: float | None) -> RoundTrip:
    """Return ``trip`` with MAE/MFE from the extreme prices it saw (its own fills included).

    Money amounts are the per-share excursion from the average entry price times the trip's
    peak size; percentages are relative to the average entry price.  MFE >= 0 >= MAE.
    """
    entry = trip.entry_price
    prices = [entry] + ([trip.exit_price] if trip.exit_price is not None else [])
    hi = max(prices + ([D(high)] if high is not None else []))
    lo = min(prices + ([D(low)] if low is not None else []))
    if trip.side == "long":
        fav, adv = hi - entry, lo - entry
    else:
        fav, adv = entry - lo, entry - hi
    return trip.with_(
        mfe=(fav * trip.max_qty).quantize(_MICRO, rounding=ROUND_HALF_EVEN),
        mae=(adv * trip.max_qty).quantize(_MICRO, rounding=ROUND_HALF_EVEN),
        mfe_pct=float(fav / entry),
        mae_pct=float(adv / entry),
    )


def add_excursions(
    trips: Sequence[RoundTrip],
    bars: Mapping[str, pd.DataFrame],
    bar_duration: timedelta,
) -> list[RoundTrip]:
    """Return ``trips`` with MAE/MFE from ``bars`` (per symbol, UTC index of bar open times).

    Bars overlapping the trip from its entry to its exit count (to the last given bar while it
    is open); pass only bars the market clock has made visible.  A symbol without bars gets
    excursions from its own fill prices only.
    """
    out = []
    for trip in trips:
        frame = bars.get(trip.symbol)
        high = low = None
        if frame is not None and len(frame):
            win = _window(frame, trip, bar_duration)
            if len(win):
                high = float(np.nanmax(win["high"].to_numpy(dtype=float)))
                low = float(np.nanmin(win["low"].to_numpy(dtype=float)))
        out.append(excursion(trip, high, low))
    return out
