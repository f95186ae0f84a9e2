"""Inline SVG charts for the offline HTML report.

Hand-written because the report must open offline with no script or CDN, and neither
matplotlib nor plotly is a dependency of the suite; a line chart and a histogram are small.
"""
from __future__ import annotations

from collections.abc import Sequence
from html import escape

import numpy as np
import pandas as pd

W, H = 900, 260
ML, MR, MT, MB = 70, 20, 30, 40


def _fmt(v: float) -> str:
    a = abs(v)
    if a >= 1e6:
        return f"{v / 1e6:.2f}M"
    if a >= 1e4:
        return f"{v / 1e3:.1f}k"
    if a >= 100:
        return f"{v:.0f}"
    return f"{v:.2f}" if a >= 1 or a == 0 else f"{v:.4f}"


def _reduce(x: np.ndarray, y: np.ndarray, buckets: int) -> tuple[np.ndarray, np.ndarray]:
    """Keep each bucket's first, lowest and highest point so extremes survive thinning."""
    if len(x) <= buckets * 3:
        return x, y
    keep = {0, len(x) - 1}
    for chunk in np.array_split(np.arange(len(x)), buckets):
        seg = y[chunk]
        keep.update((int(chunk[0]), int(chunk[np.argmin(seg)]), int(chunk[np.argmax(seg)])))
    idx = np.array(sorted(keep))
    return x[idx], y[idx]


def _frame(title: str, body: str, y_ticks: Sequence[tuple[float, str]], x_ticks:
           Sequence[tuple[float, str]]) -> str:
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {W} {H}" '
             f'width="100%" role="img" aria-label="{escape(title)}">',
             f'<text x="{ML}" y="18" font-size="14" font-weight="bold">{escape(title)}</text>']
    for y, label in y_ticks:
        parts.append(f'<line x1="{ML}" x2="{W - MR}" y1="{y:.1f}" y2="{y:.1f}" '
                     'stroke="#ddd"/>')
        parts.append(f'<text x="{ML - 6}" y="{y + 4:.1f}" font-size="11" '
                     f'text-anchor="end">{escape(label)}</text>')
    for i, (x, label) in enumerate(x_ticks):
        anchor = "start" if i == 0 else "end" if i == len(x_ticks) - 1 else "middle"
        parts.append(f'<text x="{x:.1f}" y="{H - MB + 16}" font-size="11" '
                     f'text-anchor="{anchor}">{escape(label)}</text>')
    parts.append(body)
    parts.append(f'<line x1="{ML}" x2="{ML}" y1="{MT}" y2="{H - MB}" stroke="#888"/>')
    parts.append("</svg>")
    return "\n".join(parts)


def _yscale(lo: float, hi: float) -> tuple[float, float]:
    if hi == lo:
        pad = abs(hi) * 0.01 or 1.0
        return lo - pad, hi + pad
    return lo, hi


def line_chart(index: pd.DatetimeIndex, values: Sequence[float], title: str, *,
               color: str = "#1f77b4", area: bool = False, percent: bool = False) -> str:
    """Return an SVG line chart of ``values`` over time (``area`` fills down to zero)."""
    if len(values) == 0:
        return _frame(title + " (no data)", "", (), ())
    index = pd.DatetimeIndex(index).as_unit("ns")  # ticks below use Timestamp.value (ns)
    base = int(index.asi8[0])
    x = (index.asi8 - base).astype(float)  # relative, so one-ns spans survive float64
    y = np.asarray(values, dtype=float)
    x, y = _reduce(x, y, W - ML - MR)
    lo, hi = _yscale(float(min(y.min(), 0.0) if area else y.min()), float(y.max()))
    x0, x1 = x[0], (x[-1] if x[-1] > x[0] else x[0] + 1)
    px = ML + (x - x0) / (x1 - x0) * (W - ML - MR)
    py = MT + (hi - y) / (hi - lo) * (H - MT - MB)
    pts = " ".join(f"{a:.1f},{b:.1f}" for a, b in zip(px, py, strict=True))
    if area:
        zero = MT + (hi - 0.0) / (hi - lo) * (H - MT - MB)
        body = (f'<polygon points="{px[0]:.1f},{zero:.1f} {pts} {px[-1]:.1f},{zero:.1f}" '
                f'fill="{color}" fill-opacity="0.35" stroke="{color}"/>')
    else:
        body = f'<polyline points="{pts}" fill="none" stroke="{color}" stroke-width="1.5"/>'
    ticks = np.linspace(lo, hi, 5)
    fmt = (lambda v: f"{v * 100:.1f}%") if percent else _fmt
    y_ticks = [(MT + (hi - v) / (hi - lo) * (H - MT - MB), fmt(float(v))) for v in ticks]
    n = min(6, len(index))
    pos = np.linspace(0, len(index) - 1, n).round().astype(int) if n else []
    stamps = index[pos]
    span_days = (index[-1] - index[0]).days
    x_ticks = [(ML + (s.value - base - x0) / (x1 - x0) * (W - ML - MR),
                s.strftime("%Y-%m-%d" if span_days >= 2 else "%m-%d %H:%M")) for s in stamps]
    return _frame(title, body, y_ticks, x_ticks)


def histogram(values: Sequence[float], title: str, *, bins: int = 20) -> str:
    """Return an SVG histogram of ``values``; bars left of zero are red, the rest green."""
    v = np.asarray(values, dtype=float)
    if len(v) == 0:
        return _frame(title + " (no data)", "", (), ())
    counts, edges = np.histogram(v, bins=min(bins, max(1, len(v))))
    top = max(int(counts.max()), 1)
    width = (W - ML - MR) / len(counts)
    bars = []
    for i, c in enumerate(counts):
        h = c / top * (H - MT - MB)
        color = "#d62728" if edges[i + 1] <= 0 else "#2ca02c"
        bars.append(f'<rect x="{ML + i * width + 1:.1f}" y="{H - MB - h:.1f}" '
                    f'width="{max(width - 2, 1):.1f}" height="{h:.1f}" fill="{color}">'
                    f'<title>{_fmt(edges[i])} to {_fmt(edges[i + 1])}: {int(c)}</title></rect>')
    y_ticks = [(H - MB - k / top * (H - MT - MB), str(k))
               for k in sorted({0, top // 2, top})]
    x_ticks = [(ML + i * width, _fmt(float(edges[i])))
               for i in np.linspace(0, len(counts), min(6, len(counts) + 1)).astype(int)]
    return _frame(title, "\n".join(bars), y_ticks, x_ticks)
