"""Performance statistics: ``compute_stats(trades, equity)`` in the manner of backtesting.py.

Return-based ratios follow the definitions empyrical uses (daily simple returns, sample
standard deviation, annualized with ``periods_per_year``); the tests check them against it.
Money figures are ``Decimal``; ratios are float; a figure that cannot be computed is ``None``
and ``notes`` says why.
"""
from __future__ import annotations

import math
from collections.abc import Sequence
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

import numpy as np
import pandas as pd

from shared.analytics.equity import daily_pnl, drawdown_stats
from shared.analytics.models import RoundTrip

ZERO = Decimal(0)
_MICRO = Decimal("0.000001")
#: The fewest daily returns volatility, Sharpe and Sortino are given from: below it the figure
#: is None and ``unavailable`` says why (a Sharpe of -35 from two days is noise, not a figure).
MIN_DAILY_RETURNS = 20
RETURN_FIGURES = ("volatility", "sharpe", "sortino")


def minimums(annualize_min_days: int, min_daily_returns: int = MIN_DAILY_RETURNS
             ) -> dict[str, dict[str, int]]:
    """Return the data each gated figure needs: ``{figure: {"daily_returns"|"trading_days": n}}``."""
    out = {k: {"daily_returns": min_daily_returns} for k in RETURN_FIGURES}
    out["annualized_return"] = {"trading_days": annualize_min_days}
    return out


def _avg(total: Decimal, n: int) -> Decimal | None:
    """Return the mean rounded half-to-even to micro-units (money's stored precision)."""
    return (total / n).quantize(_MICRO, rounding=ROUND_HALF_EVEN) if n else None


def _ratio(num: Decimal, den: Decimal) -> float | None:
    return float(num / den) if den else None


def trade_stats(trades: Sequence[RoundTrip]) -> dict[str, Any]:
    """Return the trade-based figures of the closed trips in ``trades``.

    Win rate counts trips with net P&L > 0 as wins (break-even trips are neither won nor
    lost but count in the denominator); profit factor is gross won over gross lost and is
    ``None`` when nothing was lost; expectancy is the mean net P&L per closed trip.
    """
    closed = [t for t in trades if not t.is_open]
    pnl = [t.net_pnl for t in closed]
    wins = [p for p in pnl if p > 0]
    losses = [p for p in pnl if p < 0]
    won, lost = sum(wins, ZERO), sum(losses, ZERO)
    n = len(closed)
    hold = [t.holding_time.total_seconds() for t in closed if t.holding_time is not None]
    return {
        "trades": n,
        "open_trades": len(trades) - n,
        "wins": len(wins),
        "losses": len(losses),
        "breakeven": n - len(wins) - len(losses),
        "win_rate": len(wins) / n if n else None,
        "net_pnl": sum(pnl, ZERO),
        "gross_pnl": sum((t.gross_pnl for t in closed), ZERO),
        "fees": sum((t.fees for t in closed), ZERO),
        "gross_won": won,
        "gross_lost": lost,
        "profit_factor": float(won / -lost) if lost else None,
        "expectancy": _avg(sum(pnl, ZERO), n),
        "avg_win": _avg(won, len(wins)),
        "avg_loss": _avg(lost, len(losses)),
        "largest_win": max(wins) if wins else None,
        "largest_loss": min(losses) if losses else None,
        "avg_return_pct": float(np.mean([t.return_pct for t in closed if t.return_pct is not None]))
        if n else None,
        "avg_holding_seconds": float(np.mean(hold)) if hold else None,
        "avg_mae": _mean_decimal([t.mae for t in closed]),
        "avg_mfe": _mean_decimal([t.mfe for t in closed]),
    }


def _mean_decimal(values: Sequence[Decimal | None]) -> Decimal | None:
    vals = [v for v in values if v is not None]
    return _avg(sum(vals, ZERO), len(vals))


def return_stats(
    returns: np.ndarray,
    *,
    periods_per_year: int = 252,
    risk_free_rate: float = 0.0,
) -> dict[str, float | None]:
    """Return annualized volatility, Sharpe and Sortino of periodic simple ``returns``.

    ``risk_free_rate`` is annual and is taken per period as ``rate / periods_per_year``
    (empyrical's convention).  Sortino's downside deviation is the root mean square of the
    below-target excess returns over all periods.
    """
    r = np.asarray(returns, dtype=float)
    r = r[np.isfinite(r)]
    out: dict[str, float | None] = {"volatility": None, "sharpe": None, "sortino": None}
    if len(r) < 2:
        return out
    ann = math.sqrt(periods_per_year)
    excess = r - risk_free_rate / periods_per_year
    sd = float(np.std(r, ddof=1))
    out["volatility"] = sd * ann
    sd_excess = float(np.std(excess, ddof=1))
    if sd_excess > 0:
        out["sharpe"] = float(np.mean(excess)) / sd_excess * ann
    downside = math.sqrt(float(np.mean(np.minimum(excess, 0.0) ** 2)))
    if downside > 0:
        out["sortino"] = float(np.mean(excess)) * periods_per_year / (downside * ann)
    return out


def exposure(trades: Sequence[RoundTrip], index: pd.DatetimeIndex) -> float | None:
    """Return the fraction of clock steps at which at least one trip was open.

    A step at ``t`` counts when a trip has ``entry_time <= t < exit_time``.
    """
    if len(index) == 0:
        return None
    held = np.zeros(len(index) + 1, dtype=np.int64)
    ns = pd.DatetimeIndex(index).as_unit("ns").asi8  # pandas 3 may hold us resolution
    for t in trades:
        a = int(np.searchsorted(ns, pd.Timestamp(t.entry_time).value, "left"))
        b = (len(index) if t.exit_time is None
             else int(np.searchsorted(ns, pd.Timestamp(t.exit_time).value, "left")))
        if b > a:
            held[a] += 1
            held[b] -= 1
    return float(np.count_nonzero(np.cumsum(held[:-1]))) / len(index)


def compute_stats(
    trades: Sequence[RoundTrip],
    equity: pd.Series,
    *,
    risk_free_rate: float = 0.0,
    periods_per_year: int = 252,
    annualize_min_days: int = 30,
    tz: str = "America/New_York",
    min_daily_returns: int = MIN_DAILY_RETURNS,
) -> dict[str, Any]:
    """Return every performance figure of ``trades`` and the ``equity`` curve (see module doc).

    ``equity`` is a Decimal Series on a UTC index (``equity.equity_series``); daily returns are
    taken per calendar day in ``tz``; the annualized return is given only from
    ``annualize_min_days`` trading days on, volatility, Sharpe and Sortino only from
    ``min_daily_returns`` daily returns on, since a few days say little.  ``minimums`` lists
    those thresholds and ``unavailable`` maps each figure left None to the reason.
    """
    notes: list[str] = []
    unavailable: dict[str, str] = {}
    days = daily_pnl(equity, tz)
    rets = np.array([d.ret for d in days if d.ret is not None], dtype=float)
    start = equity.iloc[0] if len(equity) else None
    end = equity.iloc[-1] if len(equity) else None
    total_return = _ratio(end - start, start) if start is not None else None
    annual = None
    if total_return is not None and len(days) >= annualize_min_days:
        growth = 1.0 + total_return
        annual = growth ** (periods_per_year / len(days)) - 1.0 if growth > 0 else -1.0
    elif total_return is not None:
        notes.append(f"annualized_return not given: {len(days)} trading day(s) of equity, "
                     f"fewer than {annualize_min_days}")
        unavailable["annualized_return"] = (f"not enough data: {len(days)} trading day(s), "
                                            f"needs {annualize_min_days}")
    if len(rets) >= max(2, min_daily_returns):
        rs = return_stats(rets, periods_per_year=periods_per_year,
                          risk_free_rate=risk_free_rate)
    else:
        rs = {k: None for k in RETURN_FIGURES}
        reason = (f"not enough data: {len(rets)} daily return(s), needs "
                  f"{max(2, min_daily_returns)}")
        unavailable.update({k: reason for k in RETURN_FIGURES})
        notes.append(f"volatility, sharpe and sortino need at least {max(2, min_daily_returns)} "
                     f"daily returns ({len(rets)} so far)")
    if rs["volatility"] is not None and rs["sortino"] is None:
        notes.append("sortino not given: no day fell below the risk-free target")
        unavailable["sortino"] = "no day fell below the risk-free target"
    if rs["volatility"] is not None and rs["sharpe"] is None:
        unavailable["sharpe"] = "the daily returns do not vary"
    dd = drawdown_stats(equity)
    ts = trade_stats(trades)
    if ts["trades"] and ts["profit_factor"] is None:
        notes.append("profit_factor not given: no losing trade")
        unavailable["profit_factor"] = "no losing trade yet"
    stats: dict[str, Any] = {
        "start": equity.index[0].to_pydatetime() if len(equity) else None,
        "end": equity.index[-1].to_pydatetime() if len(equity) else None,
        "steps": len(equity),
        "trading_days": len(days),
        "start_equity": start,
        "end_equity": end,
        "pnl": end - start if start is not None else None,
        "total_return": total_return,
        "annualized_return": annual,
        **rs,
        "max_drawdown": dd.max_drawdown,
        "max_drawdown_amount": dd.max_drawdown_amount,
        "max_drawdown_peak": dd.peak_ts,
        "max_drawdown_trough": dd.trough_ts,
        "max_drawdown_recovery": dd.recovery_ts,
        "max_drawdown_duration_seconds": dd.max_duration.total_seconds(),
        "max_drawdown_duration_steps": dd.max_duration_steps,
        "drawdown_ongoing": dd.ongoing,
        "exposure": exposure(trades, equity.index),
        "trades_per_day": ts["trades"] / len(days) if days else None,
        "best_day": max((d.pnl for d in days), default=None),
        "worst_day": min((d.pnl for d in days), default=None),
        **ts,
        "notes": notes,
        "minimums": minimums(annualize_min_days, max(2, min_daily_returns)),
        "unavailable": unavailable,
    }
    return stats
