"""Performance analytics as pure functions over fills, round trips and an equity curve (the
reporting service's and the backtester's: one set of definitions, docs/REPORTS.md).

``build_round_trips(fills)`` -> journal; ``equity_series(points)`` -> curve;
``compute_stats(trades, equity)`` -> figures; ``breakdown(trades, group_by)``;
``build_report`` / ``export_files`` for the whole report (replay uses these directly).
"""
from shared.analytics.breakdown import GROUPS, breakdown
from shared.analytics.equity import (
    DailyPnl,
    DrawdownStats,
    daily_pnl,
    drawdown_series,
    drawdown_stats,
    equity_series,
)
from shared.analytics.excursions import add_excursions, excursion
from shared.analytics.export import equity_csv, jsonable, trades_csv, trip_row
from shared.analytics.html_report import render_html
from shared.analytics.journal import build_round_trips
from shared.analytics.metrics import compute_stats, exposure, return_stats, trade_stats
from shared.analytics.models import Decision, Fill, RoundTrip
from shared.analytics.report import (
    Report,
    ReportOptions,
    build_report,
    export_files,
    report_dict,
    report_from_trips,
)

__all__ = [
    "GROUPS", "DailyPnl", "Decision", "DrawdownStats", "Fill", "Report", "ReportOptions",
    "RoundTrip", "add_excursions", "breakdown", "build_report", "build_round_trips",
    "compute_stats", "daily_pnl", "drawdown_series", "drawdown_stats", "equity_csv",
    "equity_series", "excursion", "export_files", "exposure", "jsonable", "render_html",
    "report_dict", "report_from_trips", "return_stats", "trade_stats", "trades_csv", "trip_row",
]
