"""Accuracy of the finance sentiment on labelled headlines and on the simulated market's news.

``data/headlines.csv`` holds hand-written headlines (headline,label) in the styles of a
newswire's finance desk, many in words the finance lexicon did not list; the lexicon was
tuned while looking at them.  ``data/headlines_holdout.csv`` was written at the same time and
committed before the tuning started (its misses were seen once, in the baseline run, not
tuned on); ``data/headlines_fresh.csv`` was written after the tuning, in other styles (wire
prefixes, "Why X stock is ... today", rating agencies, crypto), in two batches each scored
once and never tuned on (61 rows: 86.9%, then 69 rows: 85.5%): their figures say how the
lexicon does on phrasing it was not fitted to.  The figures are printed.
"""
from __future__ import annotations

import csv
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from services.news.domain import FinanceSentiment, GeneratorConfig, generate
from services.news.domain.generator import DOWN_EVENTS, ROUTINE_EVENTS, UP_EVENTS
from services.news.market import with_close_at
from shared.config_sections.news import Section
from shared.market.calendar import get_calendar
from shared.market.symbols import universe_map
from tests.services.news.factories import daily_frame

DATA = Path(__file__).parent / "data"
LABELS = ("positive", "negative", "neutral")
SCORER = FinanceSentiment(Section().label_threshold)  # the service's configured threshold


def _load(name: str) -> list[tuple[str, str]]:
    with (DATA / name).open(newline="") as f:
        rows = [(r["headline"], r["label"]) for r in csv.DictReader(f)]
    assert {label for _, label in rows} <= set(LABELS), f"{name}: a label outside {LABELS}"
    heads = [h for h, _ in rows]
    assert len(set(heads)) == len(heads), f"{name}: a headline appears twice"
    return rows


def _report(name: str, rows: list[tuple[str, str]], capsys: pytest.CaptureFixture[str]
            ) -> tuple[float, float]:
    """Print and return (3-class accuracy, sign accuracy on the positive/negative rows)."""
    got = [SCORER.score(h).label for h, _ in rows]
    right = [g == want for g, (_, want) in zip(got, rows, strict=True)]
    polar = [(g, want) for g, (_, want) in zip(got, rows, strict=True) if want != "neutral"]
    acc = sum(right) / len(rows)
    sign = sum(g == w for g, w in polar) / len(polar)
    confusion = Counter((w, g) for g, (_, w) in zip(got, rows, strict=True))
    wrong = [(h, w, g) for g, (h, w) in zip(got, rows, strict=True) if g != w]
    with capsys.disabled():
        print(f"\n{name}: {len(rows)} headlines, accuracy {acc:.1%} (positive/negative/neutral),"
              f" sign right on {sign:.1%} of the {len(polar)} positive/negative ones")
        print("  labelled -> scored: " + ", ".join(
            f"{w}->{g} {n}" for (w, g), n in sorted(confusion.items())))
        for h, w, g in wrong:
            print(f"  miss: {w} scored {g} ({SCORER.score(h).compound:+.3f}): {h}")
    return acc, sign


def test_labelled_headlines_score_in_the_labelled_direction(capsys):
    rows = _load("headlines.csv")
    assert len(rows) >= 200 and all(n >= 50 for n in Counter(w for _, w in rows).values())
    acc, sign = _report("headlines.csv", rows, capsys)
    assert acc >= 0.85
    assert sign >= 0.90


# Floors a little under what was measured the first time each set was scored after tuning
# (holdout 97.8% / 97.1%, fresh 86.2% / 83.0%): regressions fail, honest misses are allowed.
@pytest.mark.parametrize("name, min_accuracy, min_sign", [
    ("headlines_holdout.csv", 0.85, 0.85), ("headlines_fresh.csv", 0.80, 0.75)])
def test_unseen_headlines_score_in_the_labelled_direction(name, min_accuracy, min_sign, capsys):
    rows = _load(name)
    assert len(rows) >= 60
    acc, sign = _report(name, rows, capsys)
    assert acc >= min_accuracy
    assert sign >= min_sign


def _random_daily(rng: np.random.Generator, sessions: pd.DatetimeIndex) -> pd.DataFrame:
    """Daily bars with gaps and moves large enough that most sessions make a story."""
    gaps = rng.normal(0.0, 0.03, len(sessions))
    moves = rng.normal(0.0, 0.035, len(sessions))
    opens, closes, prev = [], [], 100.0
    for g, m in zip(gaps, moves, strict=True):
        o = prev * (1.0 + g)
        c = o * (1.0 + m)
        opens.append(o)
        closes.append(c)
        prev = c
    return with_close_at(pd.DataFrame({"open": opens, "close": closes}, index=sessions))


INTENDED = {**{k: "positive" for k in (*UP_EVENTS, "active_up")},
            **{k: "negative" for k in (*DOWN_EVENTS, "active_down")},
            **{k: "neutral" for k in ROUTINE_EVENTS}}


@pytest.fixture(scope="module")
def market_names() -> dict[str, str]:
    """Symbol -> name of every name of the built-in market (its default universe)."""
    return {s.symbol: s.name for s in universe_map(7, 500).values()}


def test_simulated_headlines_get_the_tone_their_generator_meant(market_names, capsys):
    cal = get_calendar()
    opens = pd.DatetimeIndex([cal.session_bounds(s)[0]
                              for s in cal.sessions_in_range("2024-01-02", "2024-02-29")])
    symbols = sorted(market_names)[::7]  # real and made-up names, spread over the universe
    rng = np.random.default_rng(2026)
    cfg = GeneratorConfig(seed=11, gap_threshold=0.01, move_threshold=0.025, routine_rate=0.05)
    arts = []
    for symbol in symbols:
        arts += generate(symbol, _random_daily(rng, opens), cfg, market_names[symbol])
    assert len(arts) >= 3000
    assert {a.event_type for a in arts} == set(INTENDED)  # every kind of story was made
    # The service scores the headline with its summary (Article.text): so do we.
    wrong = [a for a in arts if SCORER.score(a.text).label != INTENDED[a.event_type]]
    agree = 1 - len(wrong) / len(arts)
    with capsys.disabled():
        print(f"\nsimulated news: {len(arts)} generated stories on {len(symbols)} names, tone as"
              f" intended for {agree:.2%}")
        for a in wrong[:20]:
            print(f"  {a.event_type} scored {SCORER.score(a.text).compound:+.3f}: {a.text}")
    assert not wrong


def test_no_market_name_tilts_its_stories(market_names):
    """Names carry words VADER rates ("Duke Energy", "... ETF Trust", "Advanced Micro")."""
    plan = [("2024-03-04", 100.0, 100.0), ("2024-03-05", 100.0, 104.0),  # a +4% day
            ("2024-03-06", 104.0, 99.0)]  # a -4.8% day
    daily = with_close_at(daily_frame(plan))
    cfg = GeneratorConfig(seed=5, gap_threshold=0.5, move_threshold=0.03, routine_rate=0.0)
    symbol = next(iter(market_names))
    up, down = generate(symbol, daily, cfg, "{name}")
    assert (up.event_type, down.event_type) == ("active_up", "active_down")
    wrong = []
    for name in sorted(set(market_names.values())):
        for text, want in ((up.text, "positive"), (down.text, "negative"),
                           (f"{name} declares regular quarterly dividend", "neutral")):
            text = text.replace("{name}", name)
            if SCORER.score(text).label != want:
                wrong.append((name, want, text))
    assert not wrong, wrong[:10]
