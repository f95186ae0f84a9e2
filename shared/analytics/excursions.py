"""Maximum adverse and favourable excursion of round trips, from the bars they lived through."""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import timedelta
from decimal import ROUND_HALF_EVEN, Decimal

import numpy as np
import pandas as pd

from shared.analytics.models import RoundTrip
from shared.domain.money import D

_MICRO = Decimal("0.000001")


def _bounds(ns: np.ndarray, trip: RoundTrip, bar_ns: int) -> tuple[int, int]:
    """Return the slice of bars whose ``[ts, ts + bar)`` overlaps the trip's ``[entry, exit)``.

    A bar opening exactly at the exit time is left out: the trade was gone when it traded
    (the exit fill's own price still counts, see ``excursion``).
    """
    a = int(np.searchsorted(ns, pd.Timestamp(trip.entry_time).value - bar_ns, "right"))
    if trip.exit_time is None:
        return a, len(ns)
    return a, int(np.searchsorted(ns, pd.Timestamp(trip.exit_time).value, "left"))


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
    bar_ns = int(bar_duration.total_seconds() * 1e9)
    arrays: dict[str, tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
    for symbol, frame in bars.items():
        if frame is not None and len(frame):
            arrays[symbol] = (pd.DatetimeIndex(frame.index).as_unit("ns").asi8,
                              frame["high"].to_numpy(dtype=float),
                              frame["low"].to_numpy(dtype=float))
    out = []
    for trip in trips:
        high = low = None
        if trip.symbol in arrays:
            ns, hi, lo = arrays[trip.symbol]
            a, b = _bounds(ns, trip, bar_ns)
            if b > a:
                high, low = float(np.nanmax(hi[a:b])), float(np.nanmin(lo[a:b]))
        out.append(excursion(trip, high, low))
    return out
