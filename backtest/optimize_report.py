"""optimize.html: one offline page with the search's configuration, the best candidate, a
heatmap of the figure over two parameters, the top candidates and the walk-forward table."""
from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

_CSS = """body{font:14px system-ui,sans-serif;margin:24px;color:#1b1f24;background:#fff}
table{border-collapse:collapse;margin:8px 0 20px}td,th{border:1px solid #d0d7de;padding:4px 8px;
text-align:right}th{background:#f6f8fa}td.l,th.l{text-align:left}h1{font-size:20px}
h2{font-size:16px;margin-top:24px}.note{color:#57606a}svg text{font:11px system-ui,sans-serif}"""


def _fmt(v: Any) -> str:
    if v is None or (isinstance(v, float) and not math.isfinite(v)):
        return "—"
    if isinstance(v, float):
        return f"{v:,.4f}"
    return html.escape(str(v))


def _color(t: float) -> str:
    """Return a red (0) to yellow (0.5) to green (1) colour."""
    t = min(1.0, max(0.0, t))
    r = int(215 - 170 * max(0.0, t - 0.5) * 2) if t > 0.5 else 215
    g = int(60 + 150 * min(1.0, t * 2))
    return f"rgb({r},{g},70)"


def heatmap_svg(results: pd.DataFrame, x: str, y: str, metric: str) -> str:
    """Return an SVG heatmap of ``metric`` over parameters ``x`` and ``y`` (best per cell;
    cells a constraint left out stay empty); each cell's title gives its values."""
    vals = pd.to_numeric(results[metric], errors="coerce")
    table = results.assign(_v=vals).groupby([y, x])["_v"].max()
    xs, ys = sorted(results[x].unique()), sorted(results[y].unique())
    lo, hi = float(vals.min()), float(vals.max())
    cw, ch, left, top = max(14, min(44, 700 // max(1, len(xs)))), 22, 70, 10
    w, h = left + cw * len(xs) + 10, top + ch * len(ys) + 46
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{w}" height="{h}" '
             f'role="img" aria-label="{html.escape(metric)} by {html.escape(x)} and '
             f'{html.escape(y)}">']
    for j, yv in enumerate(ys):
        parts.append(f'<text x="{left - 6}" y="{top + j * ch + 15}" text-anchor="end">'
                     f'{_fmt(yv)}</text>')
        for i, xv in enumerate(xs):
            v = table.get((yv, xv))
            if v is None or not math.isfinite(v):
                fill, label = "#f6f8fa", "—"
            else:
                fill = _color((v - lo) / (hi - lo) if hi > lo else 1.0)
                label = f"{v:.4g}"
            parts.append(f'<rect x="{left + i * cw}" y="{top + j * ch}" width="{cw - 1}" '
                         f'height="{ch - 1}" fill="{fill}"><title>{html.escape(x)}={_fmt(xv)}, '
                         f'{html.escape(y)}={_fmt(yv)}: {html.escape(metric)} {label}</title>'
                         '</rect>')
    for i, xv in enumerate(xs):
        if len(xs) <= 25 or i % max(1, len(xs) // 20) == 0:
            parts.append(f'<text x="{left + i * cw + cw / 2}" y="{top + ch * len(ys) + 14}" '
                         f'text-anchor="middle">{_fmt(xv)}</text>')
    parts.append(f'<text x="{left + cw * len(xs) / 2}" y="{h - 6}" text-anchor="middle">'
                 f'{html.escape(x)} →  (rows: {html.escape(y)}; colour: {html.escape(metric)}, '
                 f'{lo:.4g} to {hi:.4g})</text></svg>')
    return "".join(parts)


def _table(df: pd.DataFrame, cols: list[str]) -> str:
    head = "".join(f"<th>{html.escape(c)}</th>" for c in cols)
    rows = "".join("<tr>" + "".join(f"<td>{_fmt(r.get(c))}</td>" for c in cols) + "</tr>"
                   for r in df.to_dict("records"))
    return f"<table><tr>{head}</tr>{rows}</table>"


def render_optimize_html(results: pd.DataFrame, names: list[str], metric: str,
                         summary: dict[str, Any], wf: pd.DataFrame | None, *, title: str,
                         config: dict[str, Any]) -> str:
    """Return the page (self-contained: no script, no network)."""
    cfg = "".join(f"<tr><th class='l'>{html.escape(k)}</th><td class='l'>{_fmt(v)}</td></tr>"
                  for k, v in config.items())
    best = "".join(f"<tr><th class='l'>{html.escape(k)}</th><td>{_fmt(v)}</td></tr>"
                   for k, v in {**summary["best_params"], metric: summary["best_value"],
                                "total_return": summary["best_total_return"],
                                "trades": summary["best_trades"]}.items())
    ranked = results.assign(_v=pd.to_numeric(results[metric], errors="coerce")).sort_values(
        "_v", ascending=summary["goal"] == "minimize", na_position="last").head(20)
    cols = [*names, metric] + [c for c in ("total_return", "max_drawdown", "trades",
                                           "win_rate") if c in results.columns and c != metric]
    body = [f"<h1>{html.escape(title)}</h1>",
            f"<p class='note'>{summary['candidates']} candidates, {summary['goal']} "
            f"{html.escape(metric)}, ratios annualised with {summary['periods_per_year']} "
            "periods a year.</p>",
            "<h2>Configuration</h2><table>" + cfg + "</table>",
            "<h2>Best candidate (in sample: the whole file)</h2><table>" + best + "</table>"]
    if len(names) == 2:
        body.append(f"<h2>{html.escape(metric)} by {html.escape(names[0])} and "
                    f"{html.escape(names[1])}</h2>" + heatmap_svg(results, names[0], names[1],
                                                                    metric))
    body.append("<h2>Top candidates</h2>" + _table(ranked, cols))
    if wf is not None and len(wf):
        wcols = ["is_start", "oos_start", "oos_end", *names, f"is_{metric}", f"oos_{metric}",
                 "oos_total_return", "oos_trades"]
        body.append("<h2>Walk-forward: chosen in sample, then traded out of sample</h2>"
                    "<p class='note'>Each window's parameters are the best of its in-sample "
                    "bars; the out-of-sample figures are what they then did on the next bars, "
                    "unseen by the search.</p>" + _table(wf, wcols))
    return (f"<!doctype html><html><head><meta charset='utf-8'><title>{html.escape(title)}"
            f"</title><style>{_CSS}</style></head><body>{''.join(body)}</body></html>")
