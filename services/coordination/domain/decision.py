"""The decision engine: weighted blend of the sources' scores, then the entry/exit rules.

Every source gives a score in [-1, 1] (sign = direction).  A source that failed this cycle
(``None``) is left out and the remaining weights are renormalised, so a dead news service
degrades the decision instead of dragging every score towards zero; the intent lists it.
"""
from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

SOURCES = ("technical", "patterns", "candles", "news")


@dataclass(frozen=True)
class SymbolView:
    """What the cycle knows about one symbol (scores in [-1, 1]; None = source unavailable)."""

    symbol: str
    technical: float | None = None
    patterns: float | None = None
    candles: float | None = None
    news: float | None = None  # mean sentiment of the window; None also when no article
    position_qty: float = 0.0  # signed; only its sign matters here
    degraded: tuple[str, ...] = ()  # sources whose service failed

    def score_of(self, source: str) -> float | None:
        return getattr(self, source)


@dataclass(frozen=True)
class Intent:
    """The engine's verdict on one symbol."""

    symbol: str
    action: str  # enter_long | enter_short | exit | hold
    score: float
    reason: str
    contributions: dict[str, float] = field(default_factory=dict)
    blocked_by: str | None = None
    degraded: tuple[str, ...] = ()

    @property
    def is_entry(self) -> bool:
        return self.action in ("enter_long", "enter_short")

    def to_dict(self) -> dict[str, Any]:
        return {"symbol": self.symbol, "action": self.action, "score": round(self.score, 6),
                "reason": self.reason, "contributions": self.contributions,
                "blocked_by": self.blocked_by, "degraded": list(self.degraded)}


def _clip(x: float) -> float:
    return max(-1.0, min(1.0, x))


def blend(view: SymbolView, weights: Mapping[str, float]) -> tuple[float, dict[str, float]]:
    """Return the weighted mean of the available scores and each source's contribution.

    Raises:
        ValueError: when a weight is negative.
    """
    num, den, parts = 0.0, 0.0, {}
    for src in SOURCES:
        w = float(weights.get(src, 0.0))
        if w < 0:
            raise ValueError(f"weight of {src} must be >= 0, was {w}")
        s = view.score_of(src)
        if s is None or w == 0:
            continue
        num += w * _clip(s)
        den += w
        parts[src] = w * _clip(s)
    if den == 0:
        return 0.0, {}
    return _clip(num / den), {k: round(v / den, 6) for k, v in parts.items()}


def decide(view: SymbolView, rules: Any, *, entries_open: bool = True,
           open_positions: int = 0) -> Intent:
    """Return the intent for ``view`` under ``rules`` (a coordination ``Strategy`` settings).

    Exits come first: a long whose blend falls to ``-exit_threshold`` (a short: rises to
    ``+exit_threshold``) is closed.  Entries need ``|blend| >= entry_threshold``, an open
    entry window, a free position slot, shorting allowed for shorts, and news not strongly
    against the trade (``block_news_below`` / ``block_short_news_above``).
    """
    score, parts = blend(view, rules.weights.model_dump())
    base = {"symbol": view.symbol, "score": score, "contributions": parts,
            "degraded": view.degraded}
    if view.position_qty > 0:
        if score <= -rules.exit_threshold:
            return Intent(action="exit", reason=f"blend {score:.3f} <= -{rules.exit_threshold}",
                          **base)
        return Intent(action="hold", reason="long held", **base)
    if view.position_qty < 0:
        if score >= rules.exit_threshold:
            return Intent(action="exit", reason=f"blend {score:.3f} >= {rules.exit_threshold}",
                          **base)
        return Intent(action="hold", reason="short held", **base)
    if abs(score) < rules.entry_threshold:
        return Intent(action="hold", reason=f"|blend| {abs(score):.3f} below "
                                            f"{rules.entry_threshold}", **base)
    long = score > 0
    want = "enter_long" if long else "enter_short"
    blocked = None
    if not entries_open:
        blocked = "entry_window_closed"
    elif open_positions >= rules.max_positions:
        blocked = "max_positions"
    elif not long and not rules.allow_short:
        blocked = "shorting_disabled"
    elif long and view.news is not None and view.news <= rules.block_news_below:
        blocked = "negative_news"
    elif not long and view.news is not None and view.news >= rules.block_short_news_above:
        blocked = "positive_news"
    if blocked:
        return Intent(action="hold", reason=f"{want} blocked: {blocked}", blocked_by=blocked,
                      **base)
    return Intent(action=want, reason=f"blend {score:.3f} past {rules.entry_threshold}", **base)


def pattern_score(detections: list[Mapping[str, Any]]) -> tuple[float, Mapping[str, Any] | None]:
    """Return the chart-pattern score and the strongest live pattern (or None).

    Live patterns (forming, active, confirmed) vote their direction times confidence; the
    strongest one's key prices give the stop when sizing uses a pattern's invalidation.
    """
    live = [d for d in detections if d.get("status") in ("forming", "active", "confirmed")]
    if not live:
        return 0.0, None
    sign = {"bullish": 1.0, "bearish": -1.0}
    votes = [sign.get(d.get("direction", ""), 0.0) * float(d.get("confidence") or 0)
             for d in live]
    best = max(live, key=lambda d: float(d.get("confidence") or 0))
    return _clip(sum(votes) / len(votes)), best


def candle_score(latest: list[Mapping[str, Any]]) -> float:
    """Return the mean signed strength of the candlestick patterns on the latest bar."""
    sign = {"bullish": 1.0, "bearish": -1.0}
    vals = [sign.get(d.get("bias", ""), 0.0) * float(d.get("strength") or 0) for d in latest]
    return _clip(sum(vals) / len(vals)) if vals else 0.0
