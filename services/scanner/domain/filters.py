"""Scan filters, their masks over the panel, the composite score and the explanations.

Each numeric filter is a ``min_``/``max_`` bound on one metric; a symbol matches when every
active filter passes (a missing metric fails).  The composite score adds, for each active
bound, how far past it the symbol is in that metric's natural unit (capped at 5 so one
extreme value cannot drown the rest), plus a small relative-volume tie-breaker.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator

from services.scanner.domain.panel import Panel

#: metric -> (panel attribute, unit that one score point stands for)
METRICS: dict[str, tuple[str, float]] = {
    "price": ("price", 0.0), "avg_volume": ("avg_volume", 0.0), "rvol": ("rvol", 1.0),
    "gap_pct": ("gap_pct", 1.0), "change_pct": ("change_pct", 1.0),
    "atr_pct": ("atr_pct", 1.0), "rsi": ("rsi", 10.0),
}
_CAP = 5.0


class Filters(BaseModel):
    """What a scan keeps; every field is optional and unset means "no filter"."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    min_price: float | None = Field(None, ge=0)
    max_price: float | None = Field(None, gt=0)
    min_avg_volume: float | None = Field(None, ge=0)
    max_avg_volume: float | None = Field(None, gt=0)
    min_rvol: float | None = Field(None, ge=0)
    max_rvol: float | None = Field(None, gt=0)
    min_gap_pct: float | None = Field(None, ge=-100, le=10_000)
    max_gap_pct: float | None = Field(None, ge=-100, le=10_000)
    min_change_pct: float | None = Field(None, ge=-100, le=10_000)
    max_change_pct: float | None = Field(None, ge=-100, le=10_000)
    min_atr_pct: float | None = Field(None, ge=0, le=1000)
    max_atr_pct: float | None = Field(None, gt=0, le=1000)
    min_rsi: float | None = Field(None, ge=0, le=100)
    max_rsi: float | None = Field(None, ge=0, le=100)
    new_high: bool = False
    new_low: bool = False
    above_vwap: bool = False
    below_vwap: bool = False
    sectors: list[str] = Field([], max_length=50)
    exclude: list[str] = Field([], max_length=10_000)

    @model_validator(mode="after")
    def _ranges(self) -> Filters:
        for m in METRICS:
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
    scale = unit or max(abs(bound), 1.0)
    m = (bound - values) if upper else (values - bound)
    return np.clip(m / scale, 0.0, _CAP)


def scan(panel: Panel, f: Filters, limit: int = 50) -> tuple[list[Match], int]:
    """Return the best ``limit`` matches by composite score, and how many matched in all."""
    n = len(panel)
    mask = np.ones(n, dtype=bool)
    score = np.zeros(n)
    used: dict[str, np.ndarray] = {}
    checks: list[tuple[str, str, Any]] = []  # (filter, metric, threshold)
    for metric, (attr, unit) in METRICS.items():
        for side in ("min", "max"):
            bound = getattr(f, f"{side}_{metric}")
            if bound is None:
                continue
            vals = used.setdefault(metric, getattr(panel, attr))
            with np.errstate(invalid="ignore"):
                mask &= (vals >= bound) if side == "min" else (vals <= bound)
            score += np.nan_to_num(_bound_margin(vals, bound, side == "max", unit))
            checks.append((f"{side}_{metric}", metric, bound))
    with np.errstate(invalid="ignore", divide="ignore"):
        if f.new_high:
            used["day_high"], used["prior_high"] = panel.day_high, panel.prior_high
            mask &= panel.day_high > panel.prior_high
            score += np.nan_to_num(np.clip((panel.day_high / panel.prior_high - 1) * 100, 0, _CAP))
            checks.append(("new_high", "day_high", "prior_high"))
        if f.new_low:
            used["day_low"], used["prior_low"] = panel.day_low, panel.prior_low
            mask &= panel.day_low < panel.prior_low
            score += np.nan_to_num(np.clip((1 - panel.day_low / panel.prior_low) * 100, 0, _CAP))
            checks.append(("new_low", "day_low", "prior_low"))
        if f.above_vwap or f.below_vwap:
            d = used["vwap_dist_pct"] = panel.vwap_dist_pct
            used["vwap"] = panel.vwap
            mask &= (d > 0) if f.above_vwap else (d < 0)
            score += np.nan_to_num(np.clip(np.abs(d), 0, _CAP))
            checks.append(("above_vwap" if f.above_vwap else "below_vwap", "vwap_dist_pct", 0.0))
    if f.sectors:
        mask &= np.isin(panel.sectors, f.sectors)
        checks.append(("sectors", "sector", list(f.sectors)))
    if f.exclude:
        mask &= ~np.isin(panel.symbols, [s.upper() for s in f.exclude])
        checks.append(("exclude", "symbol", list(f.exclude)))
    mask &= np.isfinite(panel.price)
    rv = used.get("rvol")
    score += 0.01 * np.log1p(np.nan_to_num(rv if rv is not None else np.zeros(n)).clip(0))
    idx = np.flatnonzero(mask)
    order = idx[np.lexsort((panel.symbols[idx], -score[idx]))][:limit]
    used.setdefault("price", panel.price)
    return [_match(panel, i, score[i], used, checks) for i in order], int(idx.size)


def _match(panel: Panel, i: int, score: float, used: dict[str, np.ndarray],
           checks: list[tuple[str, str, Any]]) -> Match:
    metrics = {k: _f(v[i]) for k, v in used.items()}
    expl = []
    for name, metric, thr in checks:
        if metric == "sector":
            value: Any = str(panel.sectors[i])
        elif metric == "symbol":
            value = str(panel.symbols[i])
        else:
            value = metrics.get(metric)
        if isinstance(thr, str):
            thr = metrics.get(thr)
        expl.append({"filter": name, "passed": True, "metric": metric, "value": value,
                     "threshold": thr})
    return Match(str(panel.symbols[i]), str(panel.sectors[i]), round(float(score), 6),
                 float(panel.price[i]), metrics, expl)
