"""``replay --progress``: JSON lines of bars done / in all, about every 2%, before the summary,
for one file and for a portfolio; without the option the output is the summary alone."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from backtest.data import LoadOptions, load_bars
from backtest.engine import ReplayConfig, run_replay
from hybrid_manager import main

bt = pytest.importorskip("backtesting")
GOOG = Path(bt.__file__).parent / "test" / "GOOG.csv"


def _lines(text: str) -> tuple[list[dict], dict]:
    """Split the output into the progress lines and the summary (the JSON after them)."""
    rows = text.splitlines()
    progress = [json.loads(r) for r in rows if r.startswith('{"bars_done"')]
    rest = "\n".join(r for r in rows if not r.startswith('{"bars_done"'))
    return progress, json.loads(rest)


def test_progress_lines_every_two_percent_then_the_summary(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--data", str(GOOG), "--symbol", "GOOG", "--progress",
                 "--strategy", "docs/strategies/sma_cross.py:SmaCross",
                 "--out", str(tmp_path / "a")]) == 0
    progress, summary = _lines(capsys.readouterr().out)
    total = summary["bars"]
    assert all(p["bars_total"] == total for p in progress)
    done = [p["bars_done"] for p in progress]
    assert done == sorted(done) and done[0] == 0 and done[-1] == total
    assert 45 <= len(done) <= 55  # about every 2%
    assert max(b - a for a, b in zip(done, done[1:], strict=False)) <= total // 50 + 1


def test_no_progress_lines_without_the_option(tmp_path: Path,
                                               capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--data", str(GOOG), "--symbol", "GOOG",
                 "--out", str(tmp_path / "b")]) == 0
    out = capsys.readouterr().out
    assert "bars_done" not in out and json.loads(out)["bars"] > 2000


def test_the_callback_does_not_change_the_result() -> None:
    frame = load_bars(GOOG, LoadOptions(symbol="GOOG"))
    cfg = ReplayConfig(symbol="GOOG", params={"fast": 10, "slow": 20})
    seen: list[tuple[int, int]] = []
    a = run_replay(frame, cfg, lambda d, t: seen.append((d, t)))
    b = run_replay(frame, cfg)
    assert a.equity.equals(b.equity) and len(a.fills) == len(b.fills)
    assert seen[0] == (0, len(frame)) and seen[-1][0] >= len(frame) * 0.97


def test_portfolio_progress(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["replay", "--market", "2024-01-02:2024-02-28", "--universe", "3",
                 "--progress", "--out", str(tmp_path / "m")]) == 0
    progress, summary = _lines(capsys.readouterr().out)
    assert summary["symbols"] == 3
    assert progress[-1]["bars_done"] == progress[-1]["bars_total"] > 20
