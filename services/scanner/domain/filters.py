"""Scan filters, their masks over the panel, the composite score and the explanations.

Each numeric filter is a ``min_``/``max_`` bound on one metric; a symbol matches when every
active filter passes (a missing metric fails), except the filters named in ``any_of``, of
which at least one must pass (a preset's "in play" conditions: a gap, or unusual volume, or a
move).

The score ranks setups: the setup points (``setup.py``: gap, relative volume and move, each
0-5) for every symbol whatever the filters, plus, for each active bound on any other metric
(RSI, ATR %, VWAP, new high/low), how far past it the symbol is in that metric's unit (capped
at 5).  Liquidity floors (price, average volume, average dollar volume) select but do not
score.  Ties go to the more liquid symbol (average dollar volume); the symbol's name decides
only between two equally scored, equally liquid symbols.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.scanner.domain import fundamentals as fund
from services.scanner.domain.panel import Panel
from services.scanner.domain.setup import setup_points

#: metric -> (panel attribute, unit that one score point stands for; None: not scored)
METRICS: dict[str, tuple[str, float | None]] = {
    "price": ("price", None), "avg_volume": ("avg_volume", None),
    "avg_dollar_volume": ("avg_dollar_volume", None),
    "rvol": ("rvol", None), "gap_pct": ("gap_pct", None), "abs_gap_pct": ("abs_gap_pct", None),
    "change_pct": ("change_pct", None), "abs_change_pct": ("abs_change_pct", None),
    "atr_pct": ("atr_pct", 1.0), "rsi": ("rsi", 10.0),
}
#: metrics every shown row carries, whatever the filters
SHOWN = ("price", "avg_volume", "avg_dollar_volume", "rvol", "gap_pct", "change_pct", "rsi",
         "atr_pct", "vwap_dist_pct")
FLAGS = ("new_high", "new_low", "above_vwap", "below_vwap")
_CAP = 5.0
_FINITE = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


class Filters(BaseModel):
    """What a scan keeps; every field is optional and unset means "no filter"."""

    model_config = _FINITE

    min_price: float | None = Field(None, ge=0)
    max_price: float | None = Field(None, gt=0)
    min_avg_volume: float | None = Field(None, ge=0)
    max_avg_volume: float | None = Field(None, gt=0)
    min_avg_dollar_volume: float | None = Field(None, ge=0, le=1e13)
    max_avg_dollar_volume: float | None = Field(None, gt=0, le=1e13)
    min_rvol: float | None = Field(None, ge=0)
    max_rvol: float | None = Field(None, gt=0)
    min_gap_pct: float | None = Field(None, ge=-100, le=10_000)
    max_gap_pct: float | None = Field(None, ge=-100, le=10_000)
    min_abs_gap_pct: float | None = Field(None, ge=0, le=10_000)
    max_abs_gap_pct: float | None = Field(None, gt=0, le=10_000)
    min_change_pct: float | None = Field(None, ge=-100, le=10_000)
    max_change_pct: float | None = Field(None, ge=-100, le=10_000)
    min_abs_change_pct: float | None = Field(None, ge=0, le=10_000)
    max_abs_change_pct: float | None = Field(None, gt=0, le=10_000)
    min_atr_pct: float | None = Field(None, ge=0, le=1000)
    max_atr_pct: float | None = Field(None, gt=0, le=1000)
    min_rsi: float | None = Field(None, ge=0, le=100)
    max_rsi: float | None = Field(None, ge=0, le=100)
    new_high: bool = False
    new_low: bool = False
    above_vwap: bool = False
    below_vwap: bool = False
    sectors: list[str] = Field([], max_length=50)
    # fundamentals (the combined record of shared.market.fundamentals; a missing value fails)
    min_market_cap: float | None = Field(None, ge=0, le=1e15, description="US$, e.g. 1e10")
    max_market_cap: float | None = Field(None, gt=0, le=1e15)
    min_float: float | None = Field(None, ge=0, le=1e13, description="float shares")
    max_float: float | None = Field(None, gt=0, le=1e13)
    min_pe: float | None = Field(None, ge=-1e6, le=1e6, description="price / earnings")
    max_pe: float | None = Field(None, ge=-1e6, le=1e6)
    sector: Annotated[str, Field(min_length=1, max_length=64)] | list[
        Annotated[str, Field(min_length=1, max_length=64)]] | None = Field(
        None, description="one sector or a list (any of them, case aside), e.g. Technology")
    exclude: list[str] = Field([], max_length=10_000)
    any_of: list[str] = Field([], max_length=20, description=(
        "names of set filters of which at least one must pass (the others must all pass)"))

    @model_validator(mode="after")
    def _ranges(self) -> Filters:
        settable = {f"{side}_{m}" for m in METRICS for side in ("min", "max")} | set(FLAGS)
        for name in self.any_of:
            if name not in settable or getattr(self, name) in (None, False):
                raise ValueError(f"any_of names '{name}', which is not a set min_/max_ or flag "
                                 "filter of this scan")
        if isinstance(self.sector, list) and not 1 <= len(self.sector) <= 50:
            raise ValueError("sector lists 1 to 50 sectors, e.g. [\"Technology\", \"Energy\"]")
        for m in (*METRICS, *fund.BOUNDS):
            lo, hi = getattr(self, f"min_{m}"), getattr(self, f"max_{m}")
            if lo is not None and hi is not None and lo > hi:
                raise ValueError(f"min_{m} ({lo}) is above max_{m} ({hi})")
        if self.above_vwap and self.below_vwap:
            raise ValueError("above_vwap and below_vwap cannot both be set")
        if self.new_high and self.new_low:
            raise ValueError("new_high and new_low cannot both be set")
        return self

    def active(self) -> list[str]:
        """Return the names of the filters that are set."""
        return [k for k, v in self.model_dump().items() if v not in (None, False, [])]

    def any_fundamentals(self) -> bool:
        """Return whether a market cap, float, P/E or sector filter is set."""
        return fund.wanted(self)


@dataclass(frozen=True)
class Match:
    symbol: str
    sector: str
    score: float
    price: float
    metrics: dict[str, float | None]
    explanation: list[dict[str, Any]]


def _f(x: float) -> float | None:
    return round(float(x), 6) if np.isfinite(x) else None


def _bound_margin(values: np.ndarray, bound: float, upper: bool, unit: float) -> np.ndarray:
    m = (bound - values) if upper else (values - bound)
    return np.clip(m / unit, 0.0, _CAP)


def _flag_masks(panel: Panel, f: Filters) -> list[tuple[str, str, Any, np.ndarray, np.ndarray]]:
    """Return (filter, metric, threshold, passed, score) of each set flag filter."""
    out = []
    with np.errstate(invalid="ignore", divide="ignore"):
        if f.new_high:
            out.append(("new_high", "day_high", "prior_high", panel.day_high > panel.prior_high,
                        np.clip((panel.day_high / panel.prior_high - 1) * 100, 0, _CAP)))
        if f.new_low:
            out.append(("new_low", "day_low", "prior_low", panel.day_low < panel.prior_low,
                        np.clip((1 - panel.day_low / panel.prior_low) * 100, 0, _CAP)))
        if f.above_vwap or f.below_vwap:
            d = panel.vwap_dist_pct
            out.append(("above_vwap" if f.above_vwap else "below_vwap", "vwap_dist_pct", 0.0,
                        (d > 0) if f.above_vwap else (d < 0), np.clip(np.abs(d), 0, _CAP)))
    return out


def scan(panel: Panel, f: Filters, limit: int = 50,
         fundamentals: Mapping[str, Mapping[str, Any]] | None = None) -> tuple[list[Match], int]:
    """Return the best ``limit`` matches by score (ties: the more liquid first), and how
    many matched in all; ``fundamentals`` (symbol -> combined record) serves the market cap,
    float, P/E and sector filters."""
    n = len(panel)
    mask = np.ones(n, dtype=bool)
    any_ok = np.zeros(n, dtype=bool)
    score = np.zeros(n)
    used: dict[str, np.ndarray] = {}
    checks: list[tuple[str, str, Any, np.ndarray]] = []  # (filter, metric, threshold, passed)
    for metric, (attr, unit) in METRICS.items():
        for side in ("min", "max"):
            bound = getattr(f, f"{side}_{metric}")
            if bound is None:
                continue
            vals = used.setdefault(metric, getattr(panel, attr))
            with np.errstate(invalid="ignore"):
                ok = (vals >= bound) if side == "min" else (vals <= bound)
            if unit is not None:
                score += np.nan_to_num(_bound_margin(vals, bound, side == "max", unit))
            checks.append((f"{side}_{metric}", metric, bound, ok))
    for name, metric, thr, ok, points in _flag_masks(panel, f):
        score += np.nan_to_num(points)
        checks.append((name, metric, thr, ok))
        used[metric] = getattr(panel, metric)
        if isinstance(thr, str):
            used[thr] = getattr(panel, thr)
    for name, _metric, _thr, ok in checks:
        if name in f.any_of:
            any_ok |= ok
        else:
            mask &= ok
    if f.any_of:
        mask &= any_ok
    if f.sectors:
        mask &= np.isin(panel.sectors, f.sectors)
        checks.append(("sectors", "sector", list(f.sectors), mask))
    fchecks, fshown = fund.checks(panel.symbols, panel.sectors, fundamentals or {}, f)
    for name, metric, thr, ok in fchecks:
        mask &= ok
        checks.append((name, metric, thr, ok))
    used.update(fshown)
    if f.exclude:
        mask &= ~np.isin(panel.symbols, [s.upper() for s in f.exclude])
        checks.append(("exclude", "symbol", list(f.exclude), mask))
    mask &= np.isfinite(panel.price)
    parts = setup_points(panel)
    score = np.round(score + sum(parts.values()), 6)
    liquidity = np.nan_to_num(panel.avg_dollar_volume, nan=-1.0)
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((panel.symbols[idx], -liquidity[idx], -score[idx]))][:limit]
    for m in SHOWN:
        used.setdefault(m, getattr(panel, m))
    for part, pts in parts.items():
        used[f"points_{part}"] = pts
    return [_match(panel, i, score[i], used, checks, f.any_of) for i in order], int(idx.size)


def _match(panel: Panel, i: int, score: float, used: dict[str, np.ndarray],
           checks: list[tuple[str, str, Any, np.ndarray]], any_of: list[str]) -> Match:
    metrics = {k: _f(v[i]) for k, v in used.items()}
    expl = []
    for name, metric, thr, ok in checks:
        if metric == "sector":
            value: Any = str(panel.sectors[i])
        elif metric == "symbol":
            value = str(panel.symbols[i])
        else:
            value = metrics.get(metric)
        if isinstance(thr, str):
            thr = metrics.get(thr)
        expl.append({"filter": name, "passed": bool(ok[i]), "metric": metric, "value": value,
                     "threshold": thr, "any_of": name in any_of})
    return Match(str(panel.symbols[i]), str(panel.sectors[i]), round(float(score), 6),
                 float(panel.price[i]), metrics, expl)
