"""Print the sentiment accuracy on the labelled headline sets, before and after a change.

    .venv/bin/python -m tests.services.news.sentiment_figures [REV]

"Before" is ``services/news/domain/sentiment.py`` as it was at git revision ``REV`` (default
0bfa458: the last commit before the finance lexicon was extended, when that file was still
self-contained); "after" is the working tree's scorer.  Both use the configured threshold.
"""
from __future__ import annotations

import csv
import importlib.util
import subprocess
import sys
import tempfile
from pathlib import Path

from services.news.domain import FinanceSentiment
from shared.config_sections.news import Section

DATA = Path(__file__).parent / "data"
SETS = ("headlines.csv", "headlines_holdout.csv", "headlines_fresh.csv")


def _scorer_at(rev: str) -> object:
    src = subprocess.run(["git", "show", f"{rev}:services/news/domain/sentiment.py"],
                         check=True, capture_output=True, text=True).stdout
    path = Path(tempfile.mkdtemp()) / "sentiment_before.py"
    path.write_text(src)
    spec = importlib.util.spec_from_file_location("sentiment_before", path)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["sentiment_before"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module.FinanceSentiment(Section().label_threshold)


def figures(scorer: object, rows: list[dict[str, str]]) -> tuple[float, float, float]:
    """Return (accuracy, sign right, sign wrong) over ``rows`` (headline, label)."""
    got = [scorer.score(r["headline"]).label for r in rows]  # type: ignore[attr-defined]
    polar = [(g, r["label"]) for g, r in zip(got, rows, strict=True) if r["label"] != "neutral"]
    acc = sum(g == r["label"] for g, r in zip(got, rows, strict=True)) / len(rows)
    return (acc, sum(g == w for g, w in polar) / len(polar),
            sum(g not in (w, "neutral") for g, w in polar) / len(polar))


def simulated_rows() -> list[dict[str, str]]:
    """The simulated market's stories of the accuracy test, labelled with the intended tone."""
    import numpy as np
    import pandas as pd

    from services.news.domain import GeneratorConfig, generate
    from shared.market.calendar import get_calendar
    from shared.market.symbols import universe_map
    from tests.services.news.test_sentiment_accuracy import INTENDED, _random_daily

    cal = get_calendar()
    opens = pd.DatetimeIndex([cal.session_bounds(s)[0]
                              for s in cal.sessions_in_range("2024-01-02", "2024-02-29")])
    names = {s.symbol: s.name for s in universe_map(7, 500).values()}
    rng = np.random.default_rng(2026)
    cfg = GeneratorConfig(seed=11, gap_threshold=0.01, move_threshold=0.025, routine_rate=0.05)
    return [{"headline": a.text, "label": INTENDED[a.event_type]}
            for sym in sorted(names)[::7]
            for a in generate(sym, _random_daily(rng, opens), cfg, names[sym])]


def main(rev: str = "0bfa458") -> None:
    scorers = {"before": _scorer_at(rev), "after": FinanceSentiment(Section().label_threshold)}
    sets = []
    for name in SETS:
        with (DATA / name).open(newline="") as f:
            sets.append((name, list(csv.DictReader(f))))
    sets.append(("simulated news", simulated_rows()))
    for name, rows in sets:
        for tag, scorer in scorers.items():
            acc, right, wrong = figures(scorer, rows)
            print(f"{name:24s} {tag:6s} n={len(rows):4d}  accuracy {acc:6.1%}  "
                  f"sign right {right:6.1%}  wrong sign {wrong:5.1%}")
    # The strategy blocks a long when a symbol's mean sentiment is <= -0.5 (and a short at
    # >= +0.5): how strong each tone of the simulated stories scores says how often it can.
    for tag, scorer in scorers.items():
        for tone in ("positive", "negative"):
            c = [scorer.score(r["headline"]).compound  # type: ignore[attr-defined]
                 for r in sets[-1][1] if r["label"] == tone]
            print(f"simulated {tone:8s} {tag:6s} mean compound {sum(c) / len(c):+.3f}  "
                  f"<= -0.5 {sum(x <= -0.5 for x in c) / len(c):6.1%}  "
                  f">= +0.5 {sum(x >= 0.5 for x in c) / len(c):6.1%}")


if __name__ == "__main__":
    main(*sys.argv[1:2])
