"""The self-contained HTML report: figures, charts (inline SVG) and the trade journal.

It loads nothing from the network: no scripts, fonts or style sheets outside the file.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from decimal import Decimal
from typing import Any

import jinja2
import pandas as pd
from markupsafe import Markup

from services.reporting.domain.equity import DailyPnl, drawdown_series
from services.reporting.domain.export import jsonable, trip_row
from services.reporting.domain.models import RoundTrip
from services.reporting.domain.svg import histogram, line_chart

_PERCENT = {"total_return", "annualized_return", "volatility", "max_drawdown", "win_rate",
            "exposure", "avg_return_pct"}
_SHOWN = ("start", "end", "trading_days", "start_equity", "end_equity", "pnl", "total_return",
          "annualized_return", "volatility", "sharpe", "sortino", "max_drawdown",
          "max_drawdown_amount", "max_drawdown_duration_seconds", "exposure", "trades",
          "open_trades", "win_rate", "profit_factor", "expectancy", "avg_win", "avg_loss",
          "largest_win", "largest_loss", "fees", "trades_per_day", "avg_holding_seconds",
          "best_day", "worst_day")
_JOURNAL = ("symbol", "side", "strategy", "entry_time", "exit_time", "max_qty", "entry_price",
            "exit_price", "net_pnl", "fees", "holding_seconds", "mae", "mfe", "decision_id")

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:2em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right}
th{background:#f3f3f3}td.l,th.l{text-align:left}
.grid{display:grid;grid-template-columns:repeat(auto-fill,minmax(260px,1fr));gap:0 2em}
.note{color:#666;font-size:13px}
</style></head><body>
<h1>{{ title }}</h1>
<p class="note">Generated at {{ generated_at }}. Money in account currency; ratios annualized
with {{ periods_per_year }} periods a year.</p>
<h2>Summary</h2>
<div class="grid"><table>
{% for name, value in figures %}<tr><th class="l">{{ name }}</th><td>{{ value }}</td></tr>
{% endfor %}</table></div>
{% for note in notes %}<p class="note">{{ note }}</p>{% endfor %}
<h2>Charts</h2>
{{ equity_svg }}
{{ drawdown_svg }}
{{ daily_svg }}
{% for group, rows in breakdowns.items() %}
<h2>By {{ group }}</h2>
<table><tr><th class="l">{{ group }}</th><th>trades</th><th>win rate</th><th>net P&amp;L</th>
<th>profit factor</th><th>expectancy</th></tr>
{% for name, s in rows.items() %}<tr><td class="l">{{ name }}</td><td>{{ s.trades }}</td>
<td>{{ fmt('win_rate', s.win_rate) }}</td><td>{{ fmt('net_pnl', s.net_pnl) }}</td>
<td>{{ fmt('profit_factor', s.profit_factor) }}</td><td>{{ fmt('expectancy', s.expectancy) }}</td></tr>
{% endfor %}</table>{% endfor %}
<h2>Trade journal ({{ trades|length }})</h2>
<table><tr>{% for c in columns %}<th class="l">{{ c }}</th>{% endfor %}</tr>
{% for t in trades %}<tr>{% for c in columns %}<td class="l">{{ t[c] if t[c] is not none
 else '' }}</td>{% endfor %}</tr>
{% endfor %}</table>
</body></html>
""")


def _duration(seconds: float) -> str:
    days, rest = divmod(int(round(seconds)), 86400)
    hours, rest = divmod(rest, 3600)
    return (f"{days}d " if days else "") + f"{hours}h {rest // 60:02d}m"


def _fmt(name: str, value: Any) -> str:
    value = jsonable(value)
    if value is None:
        return "n/a"
    if name.endswith("_seconds") and isinstance(value, (int, float)):
        return _duration(value)
    if isinstance(value, float):
        return f"{value * 100:.2f}%" if name in _PERCENT else f"{value:.4g}"
    if isinstance(value, str) and name and value.replace(".", "").lstrip("-").isdigit():
        return f"{Decimal(value):,.2f}"
    return str(value)


def render_html(
    stats: Mapping[str, Any],
    trades: Sequence[RoundTrip],
    equity: pd.Series,
    days: Sequence[DailyPnl],
    breakdowns: Mapping[str, Mapping[str, Mapping[str, Any]]],
    *,
    title: str = "Trading report",
    generated_at: str = "",
    periods_per_year: int = 252,
) -> str:
    """Return the report as one HTML document with inline SVG charts."""
    values = [float(v) for v in equity.to_numpy()]
    dd = drawdown_series(equity).to_numpy() if len(equity) else []
    return _TEMPLATE.render(
        title=title,
        generated_at=generated_at,
        periods_per_year=periods_per_year,
        # a figure left out says why ("not enough data: 4 daily return(s), needs 20")
        figures=[(k, (stats.get("unavailable") or {}).get(k) or "n/a" if stats.get(k) is None
                  else _fmt(k, stats.get(k))) for k in _SHOWN],
        notes=stats.get("notes", []),
        equity_svg=Markup(line_chart(equity.index, values, "Equity")),
        drawdown_svg=Markup(line_chart(
            equity.index, dd, "Drawdown", color="#d62728", area=True, percent=True)),
        daily_svg=Markup(histogram(
            [float(d.pnl) for d in days], "Daily P&L histogram")),
        breakdowns=breakdowns,
        fmt=_fmt,
        columns=_JOURNAL,
        trades=[trip_row(t) for t in trades],
    )
