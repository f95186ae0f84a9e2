"""Offline, deterministic headlines tied to the built-in market's moves.

For each session of a symbol's daily bars, an overnight gap of at least ``gap_threshold`` makes
a pre-market story (earnings, an analyst call, guidance, a lawsuit...) published before the
session opens, i.e. before the bar that moves; an open-to-close move of at least
``move_threshold`` makes a story published at the session's open (the first bar of the move).
A few quiet sessions get a routine, neutral headline the evening before.  Every choice comes
from a random stream seeded by (seed, symbol, session), so the same bars always give the same
stories, on any machine.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np
import pandas as pd

from services.news.domain.article import Article

BROKERS = ("Morgan Stanley", "Goldman Sachs", "JPMorgan", "Barclays", "Jefferies", "UBS",
           "Citi", "Wells Fargo", "Bernstein", "Piper Sandler")
AUTHORS = ("Staff Writer", "Dana Brooks", "Ravi Menon", "Lena Ortiz", "Tom Becker", "Ada Chen")
WIRES = ("SimWire", "Market Desk", "Street Brief")

UP_EVENTS = ("earnings_beat", "upgrade", "guidance_raise", "contract_win")
DOWN_EVENTS = ("earnings_miss", "downgrade", "guidance_cut", "lawsuit")
ROUTINE_EVENTS = ("conference", "results_date", "dividend_declared")

_TEMPLATES: dict[str, tuple[str, ...]] = {
    "earnings_beat": (
        "{name} beats estimates as quarterly revenue rises {pct}%",
        "{name} Q{q} earnings top expectations; shares jump premarket",
        "{name} posts record revenue, up {pct}%, and beats profit forecasts"),
    "earnings_miss": (
        "{name} misses estimates as quarterly revenue falls {pct}%",
        "{name} Q{q} earnings miss expectations; shares slump premarket",
        "{name} reports disappointing Q{q} and net loss as sales drop {pct}%"),
    "upgrade": (
        "{broker} upgrades {name} to outperform, raises price target to ${target}",
        "{name} upgraded at {broker} on improving demand, target ${target}"),
    "downgrade": (
        "{broker} downgrades {name} to underperform, cuts price target to ${target}",
        "{name} downgraded at {broker} citing weak outlook, target ${target}"),
    "guidance_raise": (
        "{name} raises guidance for full year, sees Q{q} sales up {pct}%",
        "{name} boosts outlook, sees revenue growth of {pct}%"),
    "guidance_cut": (
        "{name} cuts guidance, warns of headwinds for Q{q}",
        "{name} lowers guidance as demand slows; sees sales down {pct}%"),
    "contract_win": (
        "{name} wins contract worth ${amount} million",
        "{name} shares surge after approval of new product worth ${amount} million"),
    "lawsuit": (
        "{name} faces lawsuit over product claims seeking ${amount} million",
        "{name} hit with probe from regulators over ${amount} million in sales"),
    "active_up": ("{name} shares rally in heavy trading",
                  "{name} stock surges as buyers pile in"),
    "active_down": ("{name} shares slide in heavy trading",
                    "{name} stock plunges as sellers take control"),
    "conference": ("{name} to present at industry conference next week",),
    "results_date": ("{name} sets date for quarterly results announcement",),
    "dividend_declared": ("{name} declares regular quarterly dividend",),
}
_SUMMARIES: dict[str, str] = {
    "earnings_beat": "Results came in ahead of analyst expectations.",
    "earnings_miss": "Results fell short of analyst expectations.",
    "upgrade": "The analyst cited improving fundamentals.",
    "downgrade": "The analyst cited slowing growth and margin pressure.",
    "guidance_raise": "Management lifted its full-year outlook.",
    "guidance_cut": "Management lowered its full-year outlook.",
    "contract_win": "The company announced a significant new agreement.",
    "lawsuit": "The company said it would defend itself.",
    "active_up": "Shares moved sharply higher during the session.",
    "active_down": "Shares moved sharply lower during the session.",
}


@dataclass(frozen=True)
class GeneratorConfig:
    seed: int = 7
    gap_threshold: float = 0.02
    move_threshold: float = 0.03
    routine_rate: float = 0.05


def _rng(seed: int, symbol: str, session: pd.Timestamp, salt: str) -> np.random.Generator:
    key = f"{seed}:{symbol}:{session.date().isoformat()}:{salt}".encode()
    return np.random.default_rng(zlib.crc32(key))


def _article(symbol: str, name: str, kind: str, when: pd.Timestamp, session: pd.Timestamp,
             price: float, rng: np.random.Generator, known: pd.Timestamp) -> Article:
    template = _TEMPLATES[kind][int(rng.integers(len(_TEMPLATES[kind])))]
    up = kind in UP_EVENTS or kind == "active_up"
    target = price * (1.15 if up else 0.85) * float(rng.uniform(0.95, 1.05))
    headline = template.format(
        name=name, pct=int(rng.integers(3, 25)), q=(session.quarter % 4) + 1,
        broker=BROKERS[int(rng.integers(len(BROKERS)))], target=f"{target:.0f}",
        amount=int(rng.integers(50, 900)))
    day = session.date().isoformat()
    return Article(
        headline=headline, created_at=when.to_pydatetime(), updated_at=when.to_pydatetime(),
        source=WIRES[int(rng.integers(len(WIRES)))], symbols=(symbol,),
        summary=_SUMMARIES.get(kind, ""), author=AUTHORS[int(rng.integers(len(AUTHORS)))],
        url=f"https://news.invalid/sim/{symbol}/{day}/{kind}",
        external_id=f"sim:{symbol}:{day}:{kind}", origin="simulated", event_type=kind,
        known_at=known.to_pydatetime())


def generate(symbol: str, daily: pd.DataFrame, cfg: GeneratorConfig,
             name: str | None = None) -> list[Article]:
    """Return the stories of ``symbol`` implied by its daily bars, oldest first.

    ``daily`` has one row per session, indexed by the session's open time (UTC), with open,
    close (NaN for a session still trading) and ``close_at`` (the session's close time).  Every
    story is published at or before the open of the bar whose move it explains; its
    ``known_at`` is when that bar closed (the first minute for a gap, the session close for a
    session's move), so a reader can hide stories whose evidence is not yet visible.
    """
    if len(daily) < 2:
        return []
    name = name or symbol
    opens = daily["open"].to_numpy(dtype="float64")
    closes = daily["close"].to_numpy(dtype="float64")
    close_at = pd.DatetimeIndex(daily["close_at"])
    out: list[Article] = []
    for i in range(1, len(daily)):
        session = daily.index[i]
        prev_close, o, c = closes[i - 1], opens[i], closes[i]
        if not prev_close > 0 or not o > 0:
            continue
        gap, move = o / prev_close - 1.0, c / o - 1.0
        rng = _rng(cfg.seed, symbol, session, "gap")
        if abs(gap) >= cfg.gap_threshold:
            kinds = UP_EVENTS if gap > 0 else DOWN_EVENTS
            kind = kinds[int(rng.integers(len(kinds)))]
            # Pre-market: between 3 hours and 5 minutes before the opening bar.
            when = session - pd.Timedelta(minutes=int(rng.integers(5, 180)))
            out.append(_article(symbol, name, kind, when, session, prev_close, rng,
                                session + pd.Timedelta(minutes=1)))
        rng = _rng(cfg.seed, symbol, session, "move")
        if abs(move) >= cfg.move_threshold:  # False for NaN: a session still trading
            kind = "active_up" if move > 0 else "active_down"
            out.append(_article(symbol, name, kind, session, session, o, rng, close_at[i]))
        rng = _rng(cfg.seed, symbol, session, "routine")
        if rng.random() < cfg.routine_rate:
            kind = ROUTINE_EVENTS[int(rng.integers(len(ROUTINE_EVENTS)))]
            when = daily.index[i - 1] + pd.Timedelta(hours=int(rng.integers(8, 11)))
            out.append(_article(symbol, name, kind, when, session, prev_close, rng, when))
    out.sort(key=lambda a: (a.created_at, a.external_id or ""))
    return out
