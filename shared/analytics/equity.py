"""The equity curve: validation, daily P&L and drawdowns (pure functions over a Series).

An equity curve is a ``pd.Series`` of ``Decimal`` equity values indexed by tz-aware UTC clock
steps, ascending.  Money stays ``Decimal``; ratios are float64.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal

import numpy as np
import pandas as pd

from shared.domain.money import D
from shared.errors import ValidationError


def equity_series(points: Iterable[tuple[datetime, object]]) -> pd.Series:
    """Return a validated equity curve from ``(ts, equity)`` pairs (last value wins per ts).

    Raises:
        ValidationError: on a naive timestamp or an equity that is not a finite number.
    """
    ts, values = [], []
    for t, v in points:
        stamp = pd.Timestamp(t)
        if stamp.tzinfo is None:
            raise ValidationError(f"equity timestamp must be timezone-aware, was {t!r}",
                                  field="ts")
        try:
            values.append(D(v))
        except ValueError as exc:
            raise ValidationError(f"equity at {t} is not a number: {exc}", field="equity") from None
        ts.append(stamp.tz_convert("UTC"))
    s = pd.Series(values, index=pd.DatetimeIndex(ts, name="ts"), dtype=object, name="equity")
    s = s[~s.index.duplicated(keep="last")]
    return s.sort_index(kind="stable")


def as_float(equity: pd.Series) -> np.ndarray:
    """Return the curve as float64 (for ratios only, never for money)."""
    return np.array([float(v) for v in equity.to_numpy()], dtype=float)


@dataclass(frozen=True)
class DailyPnl:
    """One session's P&L: ``pnl = close - open_equity`` where open is the previous close."""

    day: date
    open_equity: Decimal
    close_equity: Decimal
    pnl: Decimal
    ret: float | None


def daily_pnl(equity: pd.Series, tz: str = "America/New_York") -> list[DailyPnl]:
    """Return one row per calendar day (in ``tz``) that has a clock step.

    The first day starts from the first point of the curve, every later day from the previous
    day's last point, so the daily P&L adds up exactly to the last minus the first equity.
    When the first day holds only that first point (a daily curve), it is the baseline and
    gets no row of its own, as ``pct_change().dropna()`` would do.
    """
    if equity.empty:
        return []
    days = equity.index.tz_convert(tz).date
    grouped = equity.groupby(days, sort=True)
    closes = grouped.last()
    if int(grouped.size().iloc[0]) == 1:
        closes = closes.iloc[1:]
    out = []
    prev = equity.iloc[0]
    for day, close in closes.items():
        ret = float(close / prev - 1) if prev else None
        out.append(DailyPnl(day, prev, close, close - prev, ret))
        prev = close
    return out


def drawdown_series(equity: pd.Series) -> pd.Series:
    """Return the drawdown at each step as a fraction of the running peak (<= 0)."""
    values = as_float(equity)
    peak = np.maximum.accumulate(values)
    with np.errstate(divide="ignore", invalid="ignore"):
        dd = np.where(peak > 0, values / peak - 1.0, 0.0)
    return pd.Series(dd, index=equity.index, name="drawdown")


@dataclass(frozen=True)
class DrawdownStats:
    """The deepest drawdown and the longest time under water."""

    max_drawdown: float  # fraction, <= 0
    max_drawdown_amount: Decimal  # money, <= 0
    peak_ts: datetime | None
    trough_ts: datetime | None
    recovery_ts: datetime | None  # None while not recovered
    max_duration: timedelta  # longest peak-to-recovery (or to the end) span
    max_duration_steps: int
    ongoing: bool  # the longest span had not recovered at the end


def drawdown_stats(equity: pd.Series) -> DrawdownStats:
    """Return the maximum drawdown (depth, amount, dates) and the longest drawdown duration."""
    if len(equity) == 0:
        return DrawdownStats(0.0, Decimal(0), None, None, None, timedelta(0), 0, False)
    values = as_float(equity)
    dd = drawdown_series(equity).to_numpy()
    trough = int(np.argmin(dd))
    peak = int(np.argmax(values[: trough + 1])) if dd[trough] < 0 else trough
    rec = np.nonzero(values[trough:] >= values[peak])[0] if dd[trough] < 0 else np.array([0])
    recovery = equity.index[trough + int(rec[0])] if len(rec) else None
    amount = equity.iloc[trough] - equity.iloc[peak]
    # Longest span under water: from the step a peak is set to the step equity regains it.
    idx = equity.index
    best, best_steps, ongoing = timedelta(0), 0, False
    start = None
    for i in range(len(values)):
        under = dd[i] < 0
        if under and start is None:
            start = i - 1
        elif not under and start is not None:
            span = idx[i] - idx[start]
            if span > best:
                best, best_steps, ongoing = span.to_pytimedelta(), i - start, False
            start = None
    if start is not None:
        span = idx[-1] - idx[start]
        if span > best:
            best, best_steps, ongoing = span.to_pytimedelta(), len(values) - 1 - start, True
    return DrawdownStats(
        max_drawdown=float(dd[trough]),
        max_drawdown_amount=amount if dd[trough] < 0 else Decimal(0),
        peak_ts=idx[peak].to_pydatetime() if dd[trough] < 0 else None,
        trough_ts=idx[trough].to_pydatetime() if dd[trough] < 0 else None,
        recovery_ts=recovery.to_pydatetime() if recovery is not None and dd[trough] < 0 else None,
        max_duration=best,
        max_duration_steps=best_steps,
        ongoing=ongoing,
    )
