"""Inline SVG charts of the HTML report: price with the trades on it, equity and drawdown
with the deepest fall marked, and one bar per trade.

Plain SVG (no script): the report opens offline; hovering a mark shows its ``<title>``.
Time axes and tooltips are in the report's time zone (exchange time).
"""
from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

import numpy as np
import pandas as pd

from shared.analytics.models import RoundTrip
from shared.analytics.report_text import duration_words, local_time, money, price, qty
from shared.analytics.svg import _reduce

W = 900
ML, MR, MT, MB = 70, 20, 30, 40
UP, DOWN, LINE = "#2ca02c", "#d62728", "#1f77b4"
INDICATOR_COLORS = ("#ff7f0e", "#9467bd", "#8c564b")


class _Plot:
    """Scales of one chart: time (or position) to x, value to y."""

    def __init__(self, xs: np.ndarray, lo: float, hi: float, height: int) -> None:
        if hi == lo:
            pad = abs(hi) * 0.01 or 1.0
            lo, hi = lo - pad, hi + pad
        # round figures on the axis (1, 2, 2.5 or 5 x 10^k apart), the range widened to them
        raw = (hi - lo) / 4
        mag = 10 ** np.floor(np.log10(raw))
        self.step = float(mag * next(m for m in (1, 2, 2.5, 5, 10) if m * mag >= raw))
        lo, hi = np.floor(lo / self.step) * self.step, np.ceil(hi / self.step) * self.step
        self.x0 = float(xs[0]) if len(xs) else 0.0
        self.x1 = float(xs[-1]) if len(xs) and xs[-1] > xs[0] else self.x0 + 1
        self.lo, self.hi, self.h = lo, hi, height

    def x(self, v: Any) -> Any:
        return ML + (np.asarray(v, dtype=float) - self.x0) / (self.x1 - self.x0) * (W - ML - MR)

    def y(self, v: Any) -> Any:
        return MT + (self.hi - np.asarray(v, dtype=float)) / (self.hi - self.lo) * (
            self.h - MT - MB)


def _ns(index: Any) -> np.ndarray:
    return pd.DatetimeIndex(index).as_unit("ns").asi8.astype(float)


def _axis_fmt(plot: _Plot) -> Any:
    """Return the formatter of the value axis: as many decimals as its step needs, with
    thousands separators (9,800 and 10,200, not 9800 and 10.2k)."""
    text = f"{plot.step:.10f}".rstrip("0")
    places = len(text.split(".")[1]) if "." in text else 0
    return lambda v: f"{v:,.{places}f}"


def _svg(title: str, height: int, plot: _Plot, body: list[str], y_fmt: Any,
         x_ticks: Sequence[tuple[float, str]], legend: str = "", kind: str = "") -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {height}" '
             f'width="100%" role="img" aria-label="{escape(title)}" class="chart {kind}">',
             f'<text x="{ML}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>']
    if legend:
        parts.append(f'<text x="{W - MR}" y="18" font-size="12" text-anchor="end">{legend}</text>')
    for v in np.arange(plot.lo, plot.hi + plot.step / 2, plot.step):
        y = float(plot.y(v))
        parts.append(f'<line x1="{ML}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(f'<text x="{ML - 6}" y="{y + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{escape(y_fmt(float(v)))}</text>')
    for i, (x, label) in enumerate(x_ticks):
        anchor = "start" if i == 0 else "end" if i == len(x_ticks) - 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{height - MB + 16}" font-size="11" '
                     f'text-anchor="{anchor}">{escape(label)}</text>')
    parts += body
    parts.append(f'<line x1="{ML}" x2="{ML}" y1="{MT}" y2="{height - MB}" stroke="#888"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def _time_ticks(index: pd.DatetimeIndex, plot: _Plot, tz: str) -> list[tuple[float, str]]:
    n = min(6, len(index))
    if not n:
        return []
    stamps = index[np.linspace(0, len(index) - 1, n).round().astype(int)]
    fmt = "%Y-%m-%d" if (index[-1] - index[0]).days >= 2 else "%m-%d %H:%M"
    base = _ns(index[:1])[0]
    return [(float(plot.x(_ns(pd.DatetimeIndex([s]))[0] - base)), s.tz_convert(tz).strftime(fmt))
            for s in stamps]


def _polyline(px: np.ndarray, py: np.ndarray, color: str, width: float = 1.5,
              cls: str = "") -> list[str]:
    """Return polylines through the finite points (a NaN, e.g. an indicator's warm-up, breaks
    the line)."""
    ok = np.isfinite(py)
    out, start = [], None
    for i in range(len(py) + 1):
        if i < len(py) and ok[i]:
            start = i if start is None else start
        elif start is not None:
            pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px[start:i], py[start:i],
                                                               strict=True))
            out.append(f'<polyline class="{cls}" points="{pts}" fill="none" stroke="{color}" '
                       f'stroke-width="{width}"/>')
            start = None
    return out


def trade_title(n: int, t: RoundTrip, tz: str, daily: bool) -> str:
    """Return the hover text of trade ``n``: side, quantity, prices, P&L and times."""
    exit_part = (f"exit {local_time(t.exit_time, tz, daily)} at {price(t.exit_price)}; "
                 f"net P&L {money(t.net_pnl)}; held {duration_words(t.holding_time.total_seconds(), daily)}"
                 if t.exit_time is not None and t.holding_time is not None
                 else "still open at the end")
    return (f"Trade {n}: {t.side} {qty(t.max_qty)} {t.symbol}; entry "
            f"{local_time(t.entry_time, tz, daily)} at {price(t.entry_price)}; {exit_part}")


def price_chart(bars: pd.DataFrame, trades: Sequence[RoundTrip], tz: str, daily: bool, *,
                title: str = "Price and trades",
                indicators: Mapping[str, Sequence[float]] | None = None) -> str:
    """Return the close line of ``bars`` (UTC index) with each trade's entry (a triangle: up
    for long, down for short) and exit (a circle) at its fill price, joined by a dashed line
    green for a win and red for a loss; ``indicators`` (name -> values per bar) are drawn too."""
    height = 360
    ns = _ns(bars.index)
    close = bars["close"].to_numpy(dtype=float)
    prices = [float(t.entry_price) for t in trades] + [
        float(t.exit_price) for t in trades if t.exit_price is not None]
    lines = {k: np.asarray(v, dtype=float) for k, v in (indicators or {}).items()}
    lines = {k: v for k, v in lines.items() if np.isfinite(v).any()}  # none while warming up
    lo = float(np.nanmin([close.min(), *prices, *(np.nanmin(v) for v in lines.values())]))
    hi = float(np.nanmax([close.max(), *prices, *(np.nanmax(v) for v in lines.values())]))
    pad = (hi - lo) * 0.04
    plot = _Plot(ns - ns[0], lo - pad, hi + pad, height)
    x, y = _reduce(ns - ns[0], close, W - ML - MR)
    body = _polyline(plot.x(x), plot.y(y), LINE, cls="close")
    legend = [f'<tspan fill="{LINE}">close</tspan>']
    for (name, vals), color in zip(lines.items(), INDICATOR_COLORS, strict=False):
        body += _polyline(plot.x(ns - ns[0]), plot.y(vals), color, 1.0, "indicator")
        legend.append(f'<tspan fill="{color}">{escape(name)}</tspan>')
    legend += [f'<tspan fill="{UP}">&#9650; long entry</tspan>',
               f'<tspan fill="{DOWN}">&#9660; short entry</tspan>', "&#9675; exit"]
    for n, t in enumerate(trades, 1):
        body += _trade_marks(n, t, plot, float(ns[0]), tz, daily)
    return _svg(title, height, plot, body, _axis_fmt(plot),
                _time_ticks(bars.index, plot, tz),
                "  ".join(legend), "price")


def _trade_marks(n: int, t: RoundTrip, plot: _Plot, base: float, tz: str,
                 daily: bool) -> list[str]:
    tip = f"<title>{escape(trade_title(n, t, tz, daily))}</title>"
    ex = float(plot.x(_ns(pd.DatetimeIndex([t.entry_time]))[0] - base))
    ey = float(plot.y(float(t.entry_price)))
    color = UP if t.side == "long" else DOWN
    tri = (f"{ex:.1f},{ey - 6:.1f} {ex - 5:.1f},{ey + 4:.1f} {ex + 5:.1f},{ey + 4:.1f}"
           if t.side == "long" else
           f"{ex:.1f},{ey + 6:.1f} {ex - 5:.1f},{ey - 4:.1f} {ex + 5:.1f},{ey - 4:.1f}")
    out = [f'<g class="entry {t.side}">{tip}<polygon points="{tri}" fill="{color}"/></g>']
    if t.exit_time is not None and t.exit_price is not None:
        xx = float(plot.x(_ns(pd.DatetimeIndex([t.exit_time]))[0] - base))
        xy = float(plot.y(float(t.exit_price)))
        pnl_color = UP if t.net_pnl > 0 else DOWN
        out.insert(0, f'<line x1="{ex:.1f}" y1="{ey:.1f}" x2="{xx:.1f}" y2="{xy:.1f}" '
                      f'stroke="{pnl_color}" stroke-dasharray="3,2"/>')
        out.append(f'<g class="exit {t.side}">{tip}<circle cx="{xx:.1f}" cy="{xy:.1f}" r="4" '
                   f'fill="white" stroke="{pnl_color}" stroke-width="2"/></g>')
    return out


def _mark(plot: _Plot, base: float, ts: Any, value: float, label: str, tip: str,
          cls: str) -> str:
    x = float(plot.x(_ns(pd.DatetimeIndex([ts]))[0] - base))
    y = float(plot.y(value))
    anchor = "start" if x < W / 2 else "end"
    dx = 8 if anchor == "start" else -8
    return (f'<g class="{cls}"><title>{escape(tip)}</title>'
            f'<circle cx="{x:.1f}" cy="{y:.1f}" r="5" fill="{DOWN}" stroke="white"/>'
            f'<text x="{x + dx:.1f}" y="{y + 4:.1f}" font-size="11" text-anchor="{anchor}" '
            f'fill="{DOWN}">{escape(label)}</text></g>')


def equity_chart(equity: pd.Series, stats: Mapping[str, Any], tz: str, daily: bool) -> str:
    """Return the equity curve with the peak and trough of the deepest drawdown marked."""
    height = 280
    ns = _ns(equity.index)
    vals = np.array([float(v) for v in equity.to_numpy()], dtype=float)
    plot = _Plot(ns - ns[0], float(vals.min()), float(vals.max()), height)
    x, y = _reduce(ns - ns[0], vals, W - ML - MR)
    body = _polyline(plot.x(x), plot.y(y), LINE, cls="equity")
    peak, trough = stats.get("max_drawdown_peak"), stats.get("max_drawdown_trough")
    if peak is not None and trough is not None:
        p_val = float(equity.loc[pd.Timestamp(peak)])
        t_val = float(equity.loc[pd.Timestamp(trough)])
        when = f"{local_time(peak, tz, daily)} to {local_time(trough, tz, daily)}"
        depth = f"{float(stats.get('max_drawdown') or 0) * 100:.2f}%"
        body.append(_mark(plot, float(ns[0]), peak, p_val, "peak",
                          f"Peak before the max drawdown: {local_time(peak, tz, daily)}, "
                          f"equity {money(p_val)}", "dd-peak"))
        body.append(_mark(plot, float(ns[0]), trough, t_val, f"trough {depth}",
                          f"Max drawdown {depth} ({when}), equity {money(t_val)}",
                          "dd-trough"))
    return _svg("Equity", height, plot, body, _axis_fmt(plot),
                _time_ticks(equity.index, plot, tz),
                kind="equity")


def drawdown_chart(equity: pd.Series, dd: np.ndarray, stats: Mapping[str, Any], tz: str,
                   daily: bool) -> str:
    """Return the drawdown (fraction below the running peak) with the deepest point marked."""
    height = 220
    ns = _ns(equity.index)
    plot = _Plot(ns - ns[0], min(float(dd.min()), -0.0001), 0.0, height)
    x, y = _reduce(ns - ns[0], np.asarray(dd, dtype=float), W - ML - MR)
    px, py = plot.x(x), plot.y(y)
    zero = float(plot.y(0.0))
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    body = [f'<polygon class="drawdown" points="{px[0]:.1f},{zero:.1f} {pts} {px[-1]:.1f},'
            f'{zero:.1f}" fill="{DOWN}" fill-opacity="0.35" stroke="{DOWN}"/>']
    trough = stats.get("max_drawdown_trough")
    if trough is not None:
        depth = float(stats.get("max_drawdown") or 0)
        body.append(_mark(plot, float(ns[0]), trough, depth, f"max {depth * 100:.2f}%",
                          f"Max drawdown {depth * 100:.2f}% at {local_time(trough, tz, daily)}",
                          "dd-max"))
    return _svg("Drawdown", height, plot, body, lambda v: f"{v * 100:.1f}%",
                _time_ticks(equity.index, plot, tz), kind="drawdown")


def trade_pnl_chart(trades: Sequence[RoundTrip], tz: str, daily: bool) -> str:
    """Return one bar per closed trade, in order: its net P&L (green a win, red a loss)."""
    height = 240
    closed = [(n, t) for n, t in enumerate(trades, 1) if not t.is_open]
    pnl = np.array([float(t.net_pnl) for _, t in closed], dtype=float)
    plot = _Plot(np.array([0.0, float(len(closed))]), min(float(pnl.min()), 0.0),
                 max(float(pnl.max()), 0.0), height)
    width = (W - ML - MR) / len(closed)
    zero = float(plot.y(0.0))
    body = [f'<line x1="{ML}" x2="{W - MR}" y1="{zero:.1f}" y2="{zero:.1f}" stroke="#888"/>']
    for i, ((n, t), v) in enumerate(zip(closed, pnl, strict=True)):
        y = float(plot.y(v))
        body.append(f'<rect class="trade-pnl" x="{ML + i * width + width * 0.1:.1f}" '
                    f'y="{min(y, zero):.1f}" width="{max(width * 0.8, 1):.1f}" '
                    f'height="{max(abs(zero - y), 0.5):.1f}" fill="{UP if v > 0 else DOWN}">'
                    f'<title>{escape(trade_title(n, t, tz, daily))}</title></rect>')
    ticks = np.unique(np.linspace(0, len(closed) - 1, min(6, len(closed))).round().astype(int))
    x_ticks = [(ML + (k + 0.5) * width, f"#{closed[k][0]}") for k in ticks]
    return _svg("Net P&L per trade", height, plot, body, _axis_fmt(plot), x_ticks,
                kind="trade-pnl")
