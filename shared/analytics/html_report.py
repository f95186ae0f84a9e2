"""The self-contained HTML report: run configuration, figures with their definitions, charts
(inline SVG) and the trade journal, times in exchange time.

It loads nothing from the network: no scripts, fonts or style sheets outside the file.  A
section that does not apply (time of day on daily bars, patterns nobody tagged) is left out
with one line saying why, never shown empty.
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from typing import Any

import jinja2
import numpy as np
import pandas as pd
from markupsafe import Markup

from shared.analytics.breakdown import NONE_LABEL
from shared.analytics.equity import DailyPnl, drawdown_series
from shared.analytics.models import RoundTrip
from shared.analytics.report_charts import (
    drawdown_chart,
    equity_chart,
    price_chart,
    trade_pnl_chart,
)
from shared.analytics.report_text import (
    config_value,
    duration_words,
    figure,
    local_time,
    money,
    price,
    qty,
    stat_rows,
)
from shared.analytics.svg import histogram

_TEMPLATE = jinja2.Environment(autoescape=True, undefined=jinja2.StrictUndefined).from_string(
    """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
body{font-family:system-ui,sans-serif;margin:1.5em auto;padding:0 1.5em;max-width:1180px;
color:#222;line-height:1.35}
h1{margin-bottom:.2em}h2{margin-top:1.6em;border-bottom:1px solid #ddd;padding-bottom:.2em}
table{border-collapse:collapse;margin:.6em 0;font-size:13px}
td,th{border:1px solid #ccc;padding:3px 8px;text-align:right;vertical-align:top}
th{background:#f3f3f3}td.l,th.l{text-align:left}
td.def{color:#555;text-align:left;max-width:560px}td.na{color:#a15c00;text-align:left}
.note{color:#555;font-size:13px;margin:.3em 0}
.config{display:grid;grid-template-columns:1fr 1fr;gap:0 1.5em}
.config table{width:100%;margin:0}.config th{width:42%}
td.pos{color:#1a7f1a}td.neg{color:#c62828}
svg.chart{display:block;margin:.4em 0 1em}
</style></head><body>
<h1>{{ title }}</h1>
<p class="note">Generated at {{ generated_at }}. {{ time_note }} Money in account currency;
ratios annualized with {{ periods_per_year }} periods a year.</p>
<h2>Run configuration</h2>
{% if config %}<div class="config">{% for chunk in config %}<table>
{% for name, value in chunk %}<tr><th class="l">{{ name }}</th><td class="l">{{ value }}</td></tr>
{% endfor %}</table>{% endfor %}</div>
{% else %}<p class="note">{{ no_config }}</p>{% endif %}
<h2>Statistics</h2>
<table class="stats"><tr><th class="l">Figure</th><th>Value</th><th class="l">Definition</th></tr>
{% for label, value, definition, missing in stats %}<tr><th class="l">{{ label }}</th>
<td{% if missing %} class="na"{% endif %}>{{ value }}</td><td class="def">{{ definition }}</td></tr>
{% endfor %}</table>
<h2>Price and trades</h2>
{% if price_svg %}{{ price_svg }}{% else %}<p class="note">{{ no_price }}</p>{% endif %}
<h2>Equity and drawdown</h2>
{% if equity_svg %}{{ equity_svg }}{{ drawdown_svg }}
{% else %}<p class="note">No equity chart: no data (no equity recorded yet).</p>{% endif %}
<h2>P&amp;L per trade</h2>
{% if trade_svg %}{{ trade_svg }}{% else %}<p class="note">No bars: no data (no closed trade
yet).</p>{% endif %}
<h2>Daily P&amp;L</h2>
{% if daily_svg %}{{ daily_svg }}{% else %}<p class="note">No histogram: no data (no full day
of equity yet).</p>{% endif %}
{% for group, rows, why in breakdowns %}
<h2>By {{ group }}</h2>
{% if why %}<p class="note">{{ why }}</p>{% else %}
<table><tr><th class="l">{{ group }}</th><th>closed trades</th><th>win rate</th>
<th>net P&amp;L</th><th>profit factor</th><th>expectancy</th></tr>
{% for r in rows %}<tr>{% for c in r %}<td{% if loop.first %} class="l"{% endif %}>{{ c }}</td>
{% endfor %}</tr>{% endfor %}</table>{% endif %}{% endfor %}
<h2>Trade journal ({{ journal|length }})</h2>
{% if journal %}<p class="note">Times in {{ tz_name }}; P&amp;L after fees; MAE/MFE: the worst
and best open P&amp;L while the trade was held.</p>
<table class="journal"><tr>{% for c in columns %}<th class="l">{{ c }}</th>{% endfor %}</tr>
{% for row in journal %}<tr>{% for value, cls in row %}<td class="l {{ cls }}">{{ value }}</td>
{% endfor %}</tr>{% endfor %}</table>
{% else %}<p class="note">No trades: the journal has no data yet.</p>{% endif %}
</body></html>
""")

_BREAKDOWN_NAMES = {"time_of_day": "time of day"}


def is_daily(bars: pd.DataFrame | None) -> bool:
    """Return True when ``bars`` are a day or longer apart (times of day mean nothing)."""
    if bars is None or len(bars) < 2:
        return False
    step = float(np.median(np.diff(pd.DatetimeIndex(bars.index).as_unit("ns").asi8)))
    return step >= 20 * 3600 * 1e9


def _breakdowns(breakdowns: Mapping[str, Mapping[str, Mapping[str, Any]]], daily: bool,
                tz: str) -> list[tuple[str, list[list[str]], str]]:
    if breakdowns and not any(breakdowns.values()):
        names = [_BREAKDOWN_NAMES.get(g, g) for g in breakdowns]
        return [(", ".join(names), [], "Left out: no trade to break down yet.")]
    out = []
    for group, rows in breakdowns.items():
        name = _BREAKDOWN_NAMES.get(group, group)
        why = ""
        if not rows:
            why = f"Left out: no trade to break down by {name} yet."
        elif group == "time_of_day" and daily:
            why = "Left out: daily bars have no time of day (every trade enters at a session's "\
                  "open)."
        elif group == "pattern" and set(rows) == {NONE_LABEL}:
            why = "Left out: no trade was entered on a chart pattern."
        elif group == "time_of_day":
            name = f"time of day ({tz}, entry)"
        table = [[label, str(s["trades"]), figure("win_rate", s["win_rate"], tz, daily)
                  if s["win_rate"] is not None else "no closed trade",
                  money(s["net_pnl"]), figure("profit_factor", s["profit_factor"], tz, daily)
                  if s["profit_factor"] is not None else "none lost",
                  money(s["expectancy"]) or "no closed trade"]
                 for label, s in rows.items()]
        out.append((name, table, why))
    return out


def _journal(trades: Sequence[RoundTrip], tz: str, daily: bool
             ) -> tuple[list[str], list[list[tuple[str, str]]]]:
    extra = [c for c in ("symbol", "strategy") if len({getattr(t, c) for t in trades}) > 1]
    extra += [c for c in ("pattern", "decision_id") if any(getattr(t, c) for t in trades)]
    cols = ["#", "side", "qty", "entry", "entry price", "exit", "exit price", "net P&L",
            "return", "fees", "held", "MAE", "MFE", *extra]
    rows = []
    for n, t in enumerate(trades, 1):
        pnl_cls = "" if t.is_open else "pos" if t.net_pnl > 0 else "neg" if t.net_pnl < 0 else ""
        hold = t.holding_time
        ret = t.return_pct
        cells = [str(n), t.side, qty(t.max_qty), local_time(t.entry_time, tz, daily),
                 price(t.entry_price),
                 local_time(t.exit_time, tz, daily) if t.exit_time else "open at the end",
                 price(t.exit_price), "" if t.is_open else money(t.net_pnl),
                 "" if t.is_open or ret is None else f"{ret * 100:.2f}%", money(t.fees),
                 duration_words(hold.total_seconds(), daily) if hold is not None else "",
                 money(t.mae), money(t.mfe), *(str(getattr(t, c) or "") for c in extra)]
        rows.append([(c, pnl_cls if i in (7, 8) else "") for i, c in enumerate(cells)])
    return cols, rows


def _config(config: Mapping[str, Any] | None, tz: str, daily: bool) -> list[list[tuple[str, str]]]:
    items = [(k, config_value(v, tz, daily)) for k, v in (config or {}).items()]
    half = (len(items) + 1) // 2
    return [items[:half], items[half:]] if items else []


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
    config: Mapping[str, Any] | None = None,
    bars: pd.DataFrame | None = None,
    indicators: Mapping[str, Sequence[float]] | None = None,
    tz: str = "America/New_York",
    daily: bool | None = None,
) -> str:
    """Return the report as one HTML document with inline SVG charts.

    ``config`` (label -> value) is the run's configuration; ``bars`` (one symbol's OHLCV on a
    UTC index) draw the price chart with the trades on it, ``indicators`` (name -> value per
    bar) beside the close; times are shown in ``tz``, as dates when ``daily`` (inferred from
    ``bars`` when None).
    """
    daily = is_daily(bars) if daily is None else daily
    dd = drawdown_series(equity).to_numpy() if len(equity) else np.array([])
    closed = [t for t in trades if not t.is_open]
    cols, journal = _journal(trades, tz, daily)
    return _TEMPLATE.render(
        title=title,
        generated_at=generated_at or datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        time_note=(f"Bars are daily: times are dates ({tz})." if daily
                   else f"Times are in {tz}."),
        tz_name=tz,
        periods_per_year=periods_per_year,
        config=_config(config, tz, daily),
        no_config="This report covers the live paper account: its settings are on the "
                  "dashboard's Strategy settings page.",
        stats=stat_rows(stats, tz, daily),
        price_svg=Markup(price_chart(bars, trades, tz, daily, indicators=indicators))
        if bars is not None and len(bars) else "",
        no_price="No price chart: this report spans the account's symbols; the dashboard's "
                 "chart shows each symbol's fills on its prices.",
        equity_svg=Markup(equity_chart(equity, stats, tz, daily)) if len(equity) else "",
        drawdown_svg=Markup(drawdown_chart(equity, dd, stats, tz, daily)) if len(equity) else "",
        trade_svg=Markup(trade_pnl_chart(trades, tz, daily)) if closed else "",
        daily_svg=Markup(histogram([float(d.pnl) for d in days], "Daily P&L histogram"))
        if days else "",
        breakdowns=_breakdowns(breakdowns, daily, tz),
        columns=cols,
        journal=journal,
    )
