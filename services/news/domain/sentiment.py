"""Sentiment of financial headlines: VADER (``vaderSentiment``) with a finance lexicon.

VADER's lexicon comes from social media, where "beat", "miss" or "downgrade" carry little or the
wrong weight and "shares" or "Energy" sound warm; ``finance_lexicon`` holds the finance terms
(valences on VADER's -4..+4 scale), the words it makes neutral and its rewrite rules.  VADER
looks words up one token at a time, so the text is first rewritten (``REWRITES``: "raises
full-year guidance" -> "outlook_up full-year guidance", "fails to win" -> "fails not win") and
multi-word terms ("cuts guidance") are joined with underscores, the form they have in the
lexicon.  VADER's own rules (negation by "not", "never", "without"...; "but") then apply.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.news.domain.finance_lexicon import (
    FINANCE_LEXICON,
    NEUTRAL_WORDS,
    REWRITES,
    trie_pattern,
)

__all__ = ["FINANCE_LEXICON", "FinanceSentiment", "Score", "prepare"]

# VADER's texting codes ("143" = I love you, "187", "4q") collide with amounts and quarters.
_DIGIT_CODE = re.compile(r"[a-z0-9]*[0-9][a-z0-9]*")
_PHRASES = sorted((k for k in FINANCE_LEXICON if " " in k or "-" in k), key=len, reverse=True)
_PHRASE_RE = re.compile(r"\b(" + trie_pattern(_PHRASES) + r")\b", re.IGNORECASE)


def _token(phrase: str) -> str:
    return re.sub(r"[ \-]+", "_", phrase.lower())


def prepare(text: str) -> str:
    """Return ``text`` as VADER should read it: rewrites applied, phrases made single tokens."""
    for pattern, repl in REWRITES:
        text = pattern.sub(repl, text)
    return _PHRASE_RE.sub(lambda m: _token(m.group(0)), text)


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
        lexicon = self.analyzer.lexicon
        for word in [w for w in lexicon if w in NEUTRAL_WORDS or _DIGIT_CODE.fullmatch(w)]:
            del lexicon[word]
        words = {**FINANCE_LEXICON, **(extra_lexicon or {})}
        lexicon.update({_token(k): float(v) for k, v in words.items()})

    def label(self, compound: float) -> str:
        if compound >= self.threshold:
            return "positive"
        if compound <= -self.threshold:
            return "negative"
        return "neutral"

    def score(self, text: str) -> Score:
        """Return the sentiment of ``text`` (empty text is neutral)."""
        s = self.analyzer.polarity_scores(prepare(text or ""))
        c = float(s["compound"])
        return Score(c, self.label(c), float(s["pos"]), float(s["neg"]), float(s["neu"]))
