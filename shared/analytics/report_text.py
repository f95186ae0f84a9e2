"""Words of the HTML report: figure names and definitions, times in exchange time, durations.

The definitions are the ones docs/REPORTS.md documents (a test compares them), so what a
reader sees under a figure is what ``metrics.compute_stats`` computes.
"""
from __future__ import annotations

from collections.abc import Mapping
from datetime import date, datetime
from decimal import Decimal
from typing import Any

import pandas as pd

from shared.analytics.export import jsonable

NOT_ENOUGH = "not enough data"

#: (figure, label, definition) in the order the statistics table shows them.
STATS: tuple[tuple[str, str, str], ...] = (
    ("start", "Start", "time of the first point of the equity curve"),
    ("end", "End", "time of the last point of the equity curve"),
    ("trading_days", "Trading days", "days (in the report's time zone) with an equity point, "
     "less a first day holding only the starting point"),
    ("start_equity", "Start equity", "equity at the first point"),
    ("end_equity", "End equity", "equity at the last point (cash plus open positions at the "
     "close)"),
    ("pnl", "P&L", "end equity minus start equity, after fees"),
    ("total_return", "Total return", "end equity / start equity - 1"),
    ("annualized_return", "Annualized return", "(1 + total return) ^ (periods per year / "
     "trading days) - 1; given from 30 trading days"),
    ("volatility", "Volatility", "sample standard deviation of the daily returns x "
     "sqrt(periods per year); given from 20 daily returns"),
    ("sharpe", "Sharpe ratio", "mean daily excess return / its sample standard deviation x "
     "sqrt(periods per year); given from 20 daily returns"),
    ("sortino", "Sortino ratio", "mean daily excess return x periods per year / (downside "
     "deviation x sqrt(periods per year)); downside deviation is the root mean square of the "
     "negative excess returns over all days"),
    ("max_drawdown", "Max drawdown", "deepest fall of equity from its running peak, as a "
     "fraction of that peak"),
    ("max_drawdown_amount", "Max drawdown (money)", "the same fall in money"),
    ("max_drawdown_peak", "Max drawdown peak", "time of the peak the deepest fall started "
     "from"),
    ("max_drawdown_trough", "Max drawdown trough", "time of the lowest point of that fall"),
    ("max_drawdown_duration_seconds", "Longest drawdown", "longest time from a peak until "
     "equity regained it (or until the end)"),
    ("exposure", "Exposure", "share of the equity points at which a trade was open"),
    ("trades", "Closed trades", "round trips from flat back to flat (a flip closes one and "
     "opens the next)"),
    ("open_trades", "Open trades", "round trips still open at the end"),
    ("win_rate", "Win rate", "closed trades with net P&L above 0 / closed trades"),
    ("profit_factor", "Profit factor", "money won by winners / money lost by losers"),
    ("expectancy", "Expectancy", "mean net P&L per closed trade"),
    ("avg_win", "Average win", "mean net P&L of the winning trades"),
    ("avg_loss", "Average loss", "mean net P&L of the losing trades"),
    ("largest_win", "Largest win", "highest net P&L of one trade"),
    ("largest_loss", "Largest loss", "lowest net P&L of one trade"),
    ("fees", "Fees", "commissions paid by the closed trades"),
    ("trades_per_day", "Trades per day", "closed trades / trading days"),
    ("avg_holding_seconds", "Average holding time", "mean time from entry to exit of the "
     "closed trades"),
    ("best_day", "Best day", "largest gain of equity over one day"),
    ("worst_day", "Worst day", "largest loss of equity over one day"),
)
PERCENT = {"total_return", "annualized_return", "volatility", "max_drawdown", "win_rate",
           "exposure"}
TIMES = {"start", "end", "max_drawdown_peak", "max_drawdown_trough"}
COUNTS = {"trading_days", "trades", "open_trades"}


def duration_words(seconds: float | None, daily: bool = False) -> str:
    """Return a span in words: '3 days', '1 day 4 h', '2 h 15 min', '45 s'; whole days when
    ``daily`` (daily bars stamped at local midnight are 23 or 25 h apart across a DST change)."""
    if seconds is None:
        return ""
    if daily:
        days = int(round(seconds / 86400))
        return f"{days} day{'s' if days != 1 else ''}"
    total = int(round(seconds))
    days, rest = divmod(total, 86400)
    hours, rest = divmod(rest, 3600)
    minutes, secs = divmod(rest, 60)
    if days:
        return f"{days} day{'s' if days != 1 else ''}" + (f" {hours} h" if hours else "")
    if hours:
        return f"{hours} h" + (f" {minutes} min" if minutes else "")
    if minutes:
        return f"{minutes} min"
    return f"{secs} s"


def local_time(value: Any, tz: str, daily: bool) -> str:
    """Return ``value`` (a datetime or ISO text) in ``tz``: a date for daily bars, else
    'YYYY-MM-DD HH:MM' (no seconds)."""
    if value is None or value == "":
        return ""
    if isinstance(value, date) and not isinstance(value, datetime):
        return value.isoformat()
    ts = pd.Timestamp(value)
    ts = ts.tz_localize("UTC") if ts.tzinfo is None else ts
    local = ts.tz_convert(tz)
    return local.strftime("%Y-%m-%d" if daily else "%Y-%m-%d %H:%M")


def money(value: Any) -> str:
    """Return money with two decimals and thousands separators (exact: from Decimal)."""
    if value is None or value == "":
        return ""
    return f"{Decimal(str(value)):,.2f}"


def price(value: Any) -> str:
    """Return a price with the decimals it has (at least 2, at most 6): 1.07219, 712.50."""
    if value is None or value == "":
        return ""
    d = Decimal(str(value))
    places = max(2, min(6, -d.normalize().as_tuple().exponent))  # type: ignore[operator]
    return f"{d:,.{places}f}"


def qty(value: Any) -> str:
    """Return a quantity as its exact decimal text (no exponent)."""
    if value is None or value == "":
        return ""
    d = Decimal(str(value)).normalize()
    return f"{d:f}"


def figure(name: str, value: Any, tz: str, daily: bool) -> str:
    """Return one statistic's value as the table shows it."""
    if name in TIMES:
        return local_time(value, tz, daily)
    if name.endswith("_seconds"):
        return duration_words(value, daily)
    value = jsonable(value)
    if name in COUNTS:
        return str(value)
    if isinstance(value, float):
        return f"{value * 100:.2f}%" if name in PERCENT else f"{value:.4g}"
    if isinstance(value, str):
        return money(value)
    return str(value)


def stat_rows(stats: Mapping[str, Any], tz: str, daily: bool) -> list[tuple[str, str, str, bool]]:
    """Return ``(label, value, definition, missing)`` per figure; a figure left None reads
    'not enough data' with the reason ``stats['unavailable']`` gives."""
    unavailable = stats.get("unavailable") or {}
    rows = []
    for key, label, definition in STATS:
        value = stats.get(key)
        if value is None:
            reason = unavailable.get(key) or _why_none(key, stats)
            rows.append((label, reason, definition, True))
        else:
            rows.append((label, figure(key, value, tz, daily), definition, False))
    return rows


_TRADE_FIGURES = {"win_rate", "expectancy", "avg_holding_seconds", "trades_per_day",
                  "profit_factor", "avg_win", "largest_win", "avg_loss", "largest_loss"}


def _why_none(key: str, stats: Mapping[str, Any]) -> str:
    """Return why figure ``key`` is None when ``stats['unavailable']`` does not say."""
    if not stats.get("steps"):
        return f"{NOT_ENOUGH}: no equity recorded yet"
    if key in ("max_drawdown_peak", "max_drawdown_trough"):
        return "none: equity never fell below its peak"
    if key in _TRADE_FIGURES and not stats.get("trades"):
        return f"{NOT_ENOUGH}: no closed trade yet"
    if key in ("avg_win", "largest_win"):
        return "none: no winning trade"
    if key in ("avg_loss", "largest_loss"):
        return "none: no losing trade"
    return f"{NOT_ENOUGH}: nothing to compute it from"


def config_value(value: Any, tz: str, daily: bool) -> str:
    """Return one run-configuration value in words."""
    if value is None:
        return "none"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, (datetime, pd.Timestamp)):
        return local_time(value, tz, daily)
    if isinstance(value, Mapping):
        return ", ".join(f"{k}={config_value(v, tz, daily)}" for k, v in value.items()) or "none"
    if isinstance(value, Decimal):
        return f"{value.normalize():f}"
    return str(value)
