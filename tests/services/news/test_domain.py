"""Finance sentiment, duplicate detection, aggregates and the headline generator."""
from __future__ import annotations

from datetime import timedelta

import numpy as np
import pandas as pd
import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.news.domain import (
    FinanceSentiment,
    GeneratorConfig,
    dedup_key,
    generate,
    normalize_headline,
    parse_window,
    similarity,
    volume_stats,
    window_counts,
)
from services.news.market import with_close_at
from tests.services.news.factories import daily_frame, session_open

SCORER = FinanceSentiment()


@pytest.mark.parametrize("text, label", [
    ("Acme beats estimates as quarterly revenue rises 12%", "positive"),
    ("Acme misses estimates as quarterly revenue falls 8%", "negative"),
    ("Barclays upgrades Acme to outperform", "positive"),
    ("Barclays downgrades Acme to underperform", "negative"),
    ("Acme raises guidance for full year", "positive"),
    ("Acme guidance cut as demand slows", "negative"),
    ("Acme faces lawsuit over product claims", "negative"),
    ("Acme files for bankruptcy", "negative"),
    ("Acme sets date for quarterly results announcement", "neutral"),
])
def test_finance_headlines_get_the_right_label(text, label):
    assert SCORER.score(text).label == label


def test_the_finance_lexicon_changes_what_plain_vader_says():
    plain = SentimentIntensityAnalyzer()
    for text in ("Citi downgrades Acme", "Acme beats estimates", "Barclays upgrades Acme"):
        assert plain.polarity_scores(text)["compound"] == 0.0  # plain VADER: no opinion
    assert SCORER.score("Citi downgrades Acme").label == "negative"
    assert SCORER.score("Acme beats estimates").label == "positive"
    # the phrase counts as a whole, more than its words do in plain VADER
    assert SCORER.score("Acme guidance cut").compound < plain.polarity_scores(
        "Acme guidance cut")["compound"] - 0.2


def test_headline_normalisation_and_exact_duplicate_key():
    a = "UPDATE 1-Acme beats estimates, revenue up 3.5% - Reuters"
    b = "Acme Beats Estimates; Revenue Up 3.5%"
    assert normalize_headline(a) == "acme beats estimates revenue up 3.5"
    assert dedup_key(a) == dedup_key(b)
    assert dedup_key(a) != dedup_key("Acme misses estimates, revenue down 3.5%")


def test_near_duplicates_are_similar_and_different_stories_are_not():
    a = "Acme beats estimates as quarterly revenue rises 12%"
    assert similarity(a, "Acme beats estimates as its quarterly revenue rises 12 percent") >= 0.8
    assert similarity(a, "Acme misses estimates as quarterly revenue falls 12%") < 0.8
    assert similarity(a, "Globex to present at industry conference") < 0.2


def test_parse_window():
    assert parse_window("30m") == timedelta(minutes=30)
    assert parse_window("4h") == timedelta(hours=4)
    assert parse_window("2w") == timedelta(days=14)
    for bad in ("", "0d", "1y", "abc", "400d"):
        with pytest.raises(ValueError):
            parse_window(bad)


def test_window_counts_and_abnormal_volume():
    now = 10 * 3600 * 10**9
    hour = 3600 * 10**9
    times = np.array([now - 1, now - 2, now - 3, now - 4, now - 5,   # 5 in the last hour
                      now - hour - 1, now - 2 * hour - 1, now + 5])  # 1, 1, and one future
    counts = window_counts(times, now, hour, 4)
    assert counts.tolist() == [5, 1, 1, 0]
    v = volume_stats(int(counts[0]), counts[1:])
    assert v.abnormal and v.zscore is not None and v.zscore > 2
    assert not volume_stats(1, np.array([0, 0, 0])).abnormal  # too few stories
    assert volume_stats(4, np.array([0, 0, 0])).abnormal  # news after a silent baseline
    assert not volume_stats(5, np.array([4, 6, 5, 5])).abnormal


def test_generator_is_deterministic_and_tied_to_gaps_and_moves():
    daily = with_close_at(daily_frame())
    cfg = GeneratorConfig(seed=3, routine_rate=0.0)
    arts = generate("ACME", daily, cfg, "Acme Corp")
    assert arts == generate("ACME", daily, cfg, "Acme Corp")
    by_day = {(a.external_id or "").split(":")[2]: a for a in arts}
    assert set(by_day) == {"2024-03-05", "2024-03-07", "2024-03-11"}
    up, down, move = by_day["2024-03-05"], by_day["2024-03-07"], by_day["2024-03-11"]
    # gap stories are published pre-market, before the bar that gaps
    assert up.created_at < session_open("2024-03-05").to_pydatetime()
    assert up.created_at >= (session_open("2024-03-05") - pd.Timedelta(hours=3)).to_pydatetime()
    assert SCORER.score(up.text).label == "positive"
    assert SCORER.score(down.text).label == "negative"
    assert move.created_at == session_open("2024-03-11").to_pydatetime()
    assert move.event_type == "active_up" and "Acme Corp" in move.headline
    assert all(a.created_at <= a.known_at for a in arts)
    other = generate("ACME", daily, GeneratorConfig(seed=4, routine_rate=0.0), "Acme Corp")
    assert [a.headline for a in other] != [a.headline for a in arts] or len(arts) == 0


def test_routine_stories_come_at_the_configured_rate():
    daily = with_close_at(daily_frame())
    none = generate("ACME", daily, GeneratorConfig(routine_rate=0.0, gap_threshold=0.5,
                                                   move_threshold=0.5))
    every = generate("ACME", daily, GeneratorConfig(routine_rate=1.0, gap_threshold=0.5,
                                                    move_threshold=0.5))
    assert none == [] and len(every) == len(daily) - 1
    assert all(SCORER.score(a.text).label == "neutral" for a in every)
