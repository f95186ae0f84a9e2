"""Support and resistance: swing pivots clustered by price, with touch counts and strength."""
from __future__ import annotations

import numpy as np

from services.pattern_analysis.domain.model import (
    Derived,
    Level,
    PatternParams,
    Pivot,
    clip01,
    weighted_score,
)

_WEIGHTS = {"touches": 2.0, "recency": 1.0, "role_reversal": 0.5, "tightness": 1.0}


def cluster_pivots(pivots: list[Pivot], tol: float) -> list[list[Pivot]]:
    """Return pivots grouped so each group spans at most ``2 * tol`` in price.

    Sorted by price, a pivot joins the current group while it is within ``tol`` of the
    previous one and within ``2 * tol`` of the group's lowest, so chains cannot drift.
    """
    groups: list[list[Pivot]] = []
    for p in sorted(pivots, key=lambda q: q.price):
        g = groups[-1] if groups else None
        if g and p.price - g[-1].price <= tol and p.price - g[0].price <= 2 * tol:
            g.append(p)
        else:
            groups.append([p])
    return groups


def support_resistance(bars: Derived, pivots: list[Pivot], params: PatternParams) -> list[Level]:
    """Return the strongest ``max_levels`` levels touched at least ``min_level_touches`` times.

    Strength weighs touch count, how recently the level was touched, whether it acted as both
    support and resistance (role reversal) and how tight the touches are.
    """
    n = len(bars)
    if n == 0 or not pivots:
        return []
    unit = bars.atr_median
    tol = params.level_tolerance_atr * unit
    last_close = float(bars.close[-1])
    levels = []
    for g in cluster_pivots(pivots, tol):
        if len(g) < params.min_level_touches:
            continue
        prices = np.array([p.price for p in g])
        idxs = sorted(p.idx for p in g)
        price = float(prices.mean())
        parts = {"touches": clip01((len(g) - 1) / 4),
                 "recency": clip01(1 - (n - 1 - idxs[-1]) / n),
                 "role_reversal": 1.0 if len({p.kind for p in g}) == 2 else 0.0,
                 "tightness": clip01(1 - float(prices.std()) / tol) if tol > 0 else 1.0}
        levels.append(Level(
            price=price, kind="support" if price < last_close else "resistance",
            touches=len(g), strength=weighted_score(parts, _WEIGHTS),
            low=float(prices.min()), high=float(prices.max()),
            first_ts=int(bars.ts[idxs[0]]), last_ts=int(bars.ts[idxs[-1]]),
            touch_ts=tuple(int(bars.ts[i]) for i in idxs),
            measurements={**parts, "spread_atr": float(np.ptp(prices)) / unit if unit else 0.0}))
    levels.sort(key=lambda lv: (-lv.strength, lv.price))
    return levels[: params.max_levels]


def level_groups(pivots: list[Pivot], bars: Derived, params: PatternParams) -> list[list[Pivot]]:
    """Return the pivot groups that qualify as levels (for breakout detection)."""
    unit = bars.atr_median
    return [g for g in cluster_pivots(pivots, params.level_tolerance_atr * unit)
            if len(g) >= params.min_level_touches]
