"""The finance readings the sentiment scorer adds to VADER, one rule at a time."""
from __future__ import annotations

import pytest
from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from services.news.domain import FinanceSentiment, Score
from services.news.domain.sentiment import prepare

SCORER = FinanceSentiment()
PLAIN = SentimentIntensityAnalyzer()


def label(text: str) -> str:
    return SCORER.score(text).label


def test_the_reported_headline_now_scores_negative():
    text = "Acme shares slide in heavy trading"
    assert PLAIN.polarity_scores(text)["compound"] == pytest.approx(0.296, abs=1e-3)  # the bug
    assert label(text) == "negative"
    assert label(f"{text}. Shares moved sharply lower during the session.") == "negative"
    assert label("Acme shares rally in heavy trading") == "positive"


@pytest.mark.parametrize("text", [
    "Acme shares slide", "Acme stock tumbles", "Acme plunges 12%", "Acme sinks after results",
    "Acme slumps", "Acme shares drop", "Acme shares fall", "Acme misses estimates",
    "Acme cuts its dividend", "Citi downgrades Acme", "SEC opens probe into Acme",
    "Acme announces recall of 10,000 units", "Trading in Acme halted", "Acme faces lawsuit",
    "Acme announces layoffs", "Acme warns on profit", "Acme delays product launch",
    "Acme defaults on loan", "Acme files for bankruptcy", "Short seller targets Acme",
    "Acme cuts guidance", "Acme misses estimates", "Acme swings to a loss",
])
def test_negative_finance_terms(text):
    assert label(text) == "negative", prepare(text)


@pytest.mark.parametrize("text", [
    "Acme shares surge", "Acme soars", "Acme jumps 8%", "Acme shares rally", "Acme climbs",
    "Acme beats expectations", "Acme raises forecast", "Citi upgrades Acme",
    "Acme wins FDA approval", "Acme posts record revenue", "Acme announces buyback",
    "Acme announces dividend hike", "Price target raised on Acme at UBS",
    "Acme returns to profit", "Acme lands $2 billion Pentagon contract",
])
def test_positive_finance_terms(text):
    assert label(text) == "positive", prepare(text)


@pytest.mark.parametrize("text", [
    "Acme shares trade in heavy volume", "Acme shares little changed in heavy trading",
    "Acme reports results in line with estimates", "Acme sets record date for dividend",
    "Duke Energy Corporation to present at conference",
    "SPDR S&P 500 ETF Trust sets date for distribution", "Acme completes debt refinancing",
    "United Parcel Service names new CFO, effective May 1",
])
def test_finance_nouns_and_names_are_neutral(text):
    assert label(text) == "neutral", prepare(text)


@pytest.mark.parametrize("text", [
    "Acme to launch new phone this fall", "Acme names new top executive",
    "Acme to charge fees for its service", "Acme launches premium smartphone",
    "Acme shares active in advance of earnings", "Acme soft drink volumes in line",
    "Acme raises $1.5 billion to target AI startups",
])
def test_everyday_senses_of_finance_words_are_neutral(text):
    assert label(text) == "neutral", prepare(text)


def test_charges_and_premiums_in_their_finance_sense():
    assert label("Acme takes $800 million charge on restructuring") == "negative"
    assert label("Acme books $1.2 billion charge") == "negative"
    assert label("Acme to be acquired at 40% premium") == "positive"


def test_a_verb_and_its_object_a_few_words_apart():
    assert prepare("Acme raises full-year revenue guidance").startswith("Acme outlook_up")
    assert label("Acme raises full-year revenue guidance") == "positive"
    assert label("Acme lowers its 2025 outlook") == "negative"
    # a clause break ends the reach: "raises" does not reach "outlook" across the comma
    assert "outlook_up" not in prepare("Acme raises prices, outlook unchanged")


def test_a_deal_verb_needs_its_deal():
    assert label("Acme strikes supply deal with Apple") == "positive"
    assert label("Acme signs $300 million supply agreement") == "positive"
    assert "deal_won" not in prepare("Acme shows signs of weakness in orders")
    assert label("Acme pilots strike over contract dispute") == "negative"


@pytest.mark.parametrize("negated, plain", [
    ("Acme fails to win FDA approval", "Acme wins FDA approval"),
    ("Acme failed to reach deal with creditors", "Acme reaches deal with creditors"),
    ("Acme does not expect growth to resume", "Acme expects strong growth"),
    ("Acme not expected to return to profit this year", "Acme expected to return to profit"),
    ("Acme trial fails to meet main goal", "Acme trial meets main goal"),
])
def test_negation_turns_good_news_into_bad(negated, plain):
    assert label(plain) == "positive"
    assert label(negated) == "negative"


@pytest.mark.parametrize("text", [
    "Acme did not miss a single quarterly target", "Acme says it has no plans to cut dividend",
    "Acme rules out layoffs", "Acme avoids downgrade", "Acme escapes penalty",
    "Acme reaches deal with pilots, averting strike",
])
def test_negated_bad_news_is_good_news(text):
    assert label(text) == "positive", prepare(text)


def test_the_move_outweighs_the_fact_it_happened_despite():
    assert label("Acme stock slides even as results top estimates") == "negative"
    assert label("Acme shares rise even though sales miss estimates") == "positive"
    assert label("Acme shares rise despite weak results") == "positive"


def test_costs_and_losses_read_by_their_direction():
    assert label("Acme profit climbs on lower costs") == "positive"
    assert label("Acme falls on higher medical costs") == "negative"
    assert label("Acme posts narrower loss") == "positive"
    assert label("Acme posts wider loss") == "negative"
    assert label("Acme sees sales up 12%") == "positive"
    assert label("Acme sees sales down 12%") == "negative"


def test_amounts_do_not_carry_vaders_texting_codes():
    # VADER rates "143" (I love you) +3.2 and "187" -3.1: an amount must not move the score.
    for a, b in (("143", "150"), ("187", "190"), ("86", "80")):
        assert SCORER.score(f"Acme faces lawsuit seeking ${a} million") == SCORER.score(
            f"Acme faces lawsuit seeking ${b} million")
    assert label("Acme reports 4Q results on Friday") == "neutral"


def test_score_keeps_its_shape_and_range():
    texts = ["", "Acme", "ACME SHARES PLUNGE!!! BANKRUPTCY, FRAUD, LAWSUIT, RECALL, DEFAULT",
             "Acme soars, beats, raises guidance, record profit, upgrade, buyback!!!"]
    for text in texts:
        s = SCORER.score(text)
        assert isinstance(s, Score) and -1.0 <= s.compound <= 1.0
        assert s.label in {"positive", "negative", "neutral"}
        assert s.positive + s.negative + s.neutral == pytest.approx(1.0, abs=0.01) or not text
    assert SCORER.score(texts[2]).compound < -0.9 < 0.9 < SCORER.score(texts[3]).compound


def test_extra_lexicon_still_overrides():
    assert FinanceSentiment(extra_lexicon={"slide": 2.0}).score("Acme shares slide").label \
        == "positive"
