"""Sentiment of financial headlines: VADER (``vaderSentiment``) with a finance lexicon.

VADER's lexicon comes from social media, where "beat", "miss" or "downgrade" carry little or the
wrong weight; we add finance terms with valences on VADER's -4..+4 scale.  VADER looks words up
one token at a time, so multi-word terms ("guidance cut") are joined with underscores before
scoring and added to the lexicon in that form.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

#: Finance words and phrases with their valence (-4 very negative .. +4 very positive).
FINANCE_LEXICON: dict[str, float] = {
    # results
    "beat": 2.0, "beats": 2.0, "tops": 1.8, "topped": 1.8, "exceeds": 1.8, "exceeded": 1.8,
    "miss": -2.0, "misses": -2.0, "missed": -2.0, "shortfall": -2.0, "disappointing": -2.3,
    "record revenue": 2.2, "record profit": 2.4, "profit warning": -2.8, "net loss": -1.8,
    "writedown": -2.0, "write-down": -2.0, "impairment": -1.8,
    # analysts
    "upgrade": 2.2, "upgrades": 2.2, "upgraded": 2.2, "outperform": 1.8, "overweight": 1.5,
    "downgrade": -2.2, "downgrades": -2.2, "downgraded": -2.2, "underperform": -1.8,
    "underweight": -1.5, "price target raised": 1.8, "price target cut": -1.8,
    "raises price target": 1.8, "cuts price target": -1.8,
    # guidance and outlook
    "guidance cut": -2.6, "cuts guidance": -2.6, "lowers guidance": -2.4,
    "lowered guidance": -2.4, "guidance raised": 2.4, "raises guidance": 2.4,
    "raised guidance": 2.4, "boosts outlook": 2.2, "raises outlook": 2.2, "cuts outlook": -2.4,
    "weak outlook": -2.2, "strong outlook": 2.0,
    # corporate events
    "lawsuit": -2.0, "sued": -2.0, "sues": -1.5, "probe": -1.8, "investigation": -1.6,
    "subpoena": -2.0, "fraud": -3.0, "recall": -1.8, "bankruptcy": -3.2, "bankrupt": -3.2,
    "chapter 11": -3.0, "default": -2.5, "delisting": -2.8, "layoffs": -1.6, "resigns": -1.2,
    "buyback": 1.6, "repurchase": 1.2, "dividend increase": 1.8, "dividend cut": -2.2,
    "acquisition": 0.8, "approval": 1.8, "approved": 1.6, "contract win": 1.8, "wins contract": 1.8,
    "partnership": 1.0, "rally": 1.5, "rallies": 1.5, "surge": 1.8, "surges": 1.8,
    "soar": 2.0, "soars": 2.0, "jumps": 1.5, "plunge": -2.2, "plunges": -2.2, "slump": -1.8,
    "slumps": -1.8, "tumbles": -2.0, "sinks": -1.8, "bullish": 1.8, "bearish": -1.8,
    "volatile": -0.6, "headwinds": -1.4, "tailwinds": 1.4,
}
_PHRASES = sorted((k for k in FINANCE_LEXICON if " " in k or "-" in k), key=len, reverse=True)
_PHRASE_RE = re.compile(r"\b(" + "|".join(re.escape(p) for p in _PHRASES) + r")\b", re.IGNORECASE)


def _token(phrase: str) -> str:
    return re.sub(r"[ \-]+", "_", phrase.lower())


@dataclass(frozen=True)
class Score:
    compound: float
    label: str
    positive: float
    negative: float
    neutral: float


class FinanceSentiment:
    """VADER with the finance lexicon; ``score(text)`` gives compound (-1..1) and a label."""

    def __init__(self, threshold: float = 0.05,
                 extra_lexicon: dict[str, float] | None = None) -> None:
        self.threshold = threshold
        self.analyzer = SentimentIntensityAnalyzer()
        words = {**FINANCE_LEXICON, **(extra_lexicon or {})}
        self.analyzer.lexicon.update({_token(k): float(v) for k, v in words.items()})

    def label(self, compound: float) -> str:
        if compound >= self.threshold:
            return "positive"
        if compound <= -self.threshold:
            return "negative"
        return "neutral"

    def score(self, text: str) -> Score:
        """Return the sentiment of ``text`` (empty text is neutral)."""
        prepared = _PHRASE_RE.sub(lambda m: _token(m.group(0)), text or "")
        s = self.analyzer.polarity_scores(prepared)
        c = float(s["compound"])
        return Score(c, self.label(c), float(s["pos"]), float(s["neg"]), float(s["neu"]))
