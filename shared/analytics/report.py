"""One call from fills and an equity curve to the whole report, and its export files.

Replay and the service both use this: ``build_report`` is pure, ``export_files`` returns the
file contents (``trades.csv``, ``equity.csv``, ``report.json``, ``report.html``) for the caller
to write or serve.
"""
from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

import pandas as pd

from shared.analytics.breakdown import GROUPS, breakdown
from shared.analytics.equity import DailyPnl, daily_pnl
from shared.analytics.excursions import add_excursions
from shared.analytics.export import (
    daily_rows,
    equity_csv,
    equity_rows,
    jsonable,
    trades_csv,
    trip_row,
)
from shared.analytics.html_report import render_html
from shared.analytics.journal import build_round_trips
from shared.analytics.metrics import compute_stats
from shared.analytics.models import Decision, Fill, RoundTrip


@dataclass(frozen=True)
class ReportOptions:
    """How figures are computed (the service fills these from ``settings.reporting``)."""

    risk_free_rate: float = 0.0
    periods_per_year: int = 252
    annualize_min_days: int = 30
    tz: str = "America/New_York"
    time_bucket_minutes: int = 30
    breakdowns: tuple[str, ...] = GROUPS


@dataclass(frozen=True)
class Report:
    """Everything a report shows."""

    trades: list[RoundTrip]
    equity: pd.Series
    daily: list[DailyPnl]
    stats: dict[str, Any]
    breakdowns: dict[str, dict[str, dict[str, Any]]] = field(default_factory=dict)


def build_report(
    fills: Iterable[Fill],
    equity: pd.Series,
    *,
    bars: Mapping[str, pd.DataFrame] | None = None,
    bar_duration: timedelta = timedelta(minutes=1),
    decisions: Mapping[str, Decision] | None = None,
    options: ReportOptions = ReportOptions(),
) -> Report:
    """Return the report of ``fills`` and the ``equity`` curve (see ``equity.equity_series``).

    ``bars`` (per symbol, only visible bars) give the trades' MAE/MFE; ``decisions`` map entry
    order ids to coordination's decisions.

    Raises:
        ValidationError: on duplicate fills; ValueError: on an unknown breakdown.
    """
    trips = build_round_trips(fills, decisions)
    trips = add_excursions(trips, bars or {}, bar_duration)
    return report_from_trips(trips, equity, options)


def report_from_trips(trips: Sequence[RoundTrip], equity: pd.Series,
                      options: ReportOptions = ReportOptions()) -> Report:
    """Return the report of already built round trips and the equity curve."""
    stats = compute_stats(trips, equity, risk_free_rate=options.risk_free_rate,
                          periods_per_year=options.periods_per_year,
                          annualize_min_days=options.annualize_min_days, tz=options.tz)
    groups = {g: breakdown(trips, g, tz=options.tz, bucket_minutes=options.time_bucket_minutes)
              for g in options.breakdowns}
    return Report(list(trips), equity, daily_pnl(equity, options.tz), stats, groups)


def report_dict(report: Report) -> dict[str, Any]:
    """Return the whole report as JSON-ready data."""
    return {
        "stats": jsonable(report.stats),
        "breakdowns": jsonable(report.breakdowns),
        "daily": daily_rows(report.daily),
        "trades": [trip_row(t) for t in report.trades],
        "equity": equity_rows(report.equity),
    }


def export_files(report: Report, *, title: str = "Trading report", generated_at: str = "",
                 periods_per_year: int = 252, config: Mapping[str, Any] | None = None,
                 bars: pd.DataFrame | None = None,
                 indicators: Mapping[str, Sequence[float]] | None = None,
                 tz: str = "America/New_York") -> dict[str, str]:
    """Return ``{file name: text}`` for trades.csv, equity.csv, report.json and report.html.

    A backtest passes its ``config`` (label -> value), the ``bars`` (and ``indicators``) of
    its price chart and the zone times are shown in (``tz``); see ``render_html``.
    """
    return {
        "trades.csv": trades_csv(report.trades),
        "equity.csv": equity_csv(report.equity),
        "report.json": json.dumps(report_dict(report), allow_nan=False),  # no indent: C encoder
        "report.html": render_html(report.stats, report.trades, report.equity, report.daily,
                                   report.breakdowns, title=title, generated_at=generated_at,
                                   periods_per_year=periods_per_year, config=config,
                                   bars=bars, indicators=indicators, tz=tz),
    }
