"""Duplicate stories: a hash of the normalised headline, and a near-duplicate test.

Wire services re-run one story with small edits ("UPDATE 1-", a source suffix, changed
punctuation); normalising and hashing catches exact re-runs, and the Jaccard similarity of the
headlines' word sets catches light rewrites.  (A hand-written token Jaccard rather than a fuzzy
matching library: it is five lines, order-insensitive, and needs no extra dependency.)
"""
from __future__ import annotations

import hashlib
import re
import unicodedata

_PREFIX = re.compile(r"^(?:update\s*\d*|corrected|refile|exclusive|breaking)\s*[-:]+\s*", re.I)
_SUFFIX = re.compile(r"\s+[-|]\s+[A-Za-z][\w .&']{1,40}$")  # " - Reuters", " | Bloomberg"
_NON_WORD = re.compile(r"[^a-z0-9.]+")
_STOP = frozenset("a an the of to in on for and or at by with as is are from its".split())


def normalize_headline(headline: str) -> str:
    """Return the headline lower-cased, without wire prefixes/suffixes and punctuation."""
    text = unicodedata.normalize("NFKC", headline or "").strip()
    text = _PREFIX.sub("", text)
    text = _SUFFIX.sub("", text)
    text = _NON_WORD.sub(" ", text.lower())
    text = re.sub(r"(?<!\d)\.|\.(?!\d)", " ", text)  # keep decimals like 3.5
    return " ".join(text.split())


def dedup_key(headline: str) -> str:
    """Return the SHA-1 of the normalised headline (the exact-duplicate key)."""
    return hashlib.sha1(normalize_headline(headline).encode()).hexdigest()


def tokens(headline: str) -> frozenset[str]:
    return frozenset(t for t in normalize_headline(headline).split() if t not in _STOP)


def similarity(a: str, b: str) -> float:
    """Return the Jaccard similarity (0..1) of two headlines' content words."""
    ta, tb = tokens(a), tokens(b)
    if not ta or not tb:
        return 0.0
    return len(ta & tb) / len(ta | tb)


def is_near_duplicate(a: str, b: str, threshold: float) -> bool:
    return similarity(a, b) >= threshold
