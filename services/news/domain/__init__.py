"""Pure news logic: articles, finance sentiment, de-duplication, aggregates, the generator."""
from services.news.domain.aggregate import (
    VolumeStats,
    parse_window,
    summarize_scores,
    volume_stats,
    window_counts,
)
from services.news.domain.article import Article, scored_text
from services.news.domain.dedupe import dedup_key, is_near_duplicate, normalize_headline, similarity
from services.news.domain.generator import GeneratorConfig, generate
from services.news.domain.sentiment import FINANCE_LEXICON, FinanceSentiment, Score

__all__ = [
    "FINANCE_LEXICON",
    "Article",
    "FinanceSentiment",
    "GeneratorConfig",
    "Score",
    "VolumeStats",
    "dedup_key",
    "generate",
    "is_near_duplicate",
    "normalize_headline",
    "parse_window",
    "scored_text",
    "similarity",
    "summarize_scores",
    "volume_stats",
    "window_counts",
]
