"""``optimize``: the search finds what a brute-force loop finds, constraints are data, and a
walk-forward picks each window's parameters from its in-sample bars alone."""
from __future__ import annotations

import json
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.engine import ReplayConfig, run_replay
from backtest.optimize import (
    best,
    compile_constraint,
    grid,
    parse_range,
    random_sample,
    run_candidates,
    walk_forward,
    windows,
)
from hybrid_manager import main
from shared.analytics import build_round_trips, compute_stats
from shared.errors import ValidationError


def _frame(n: int = 700, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    c = 100 * np.exp(np.cumsum(rng.normal(0.0003, 0.015, n)))
    o = c * (1 + rng.normal(0, 0.003, n))
    return pd.DataFrame({"open": o.round(2), "high": (np.maximum(o, c) * 1.005).round(2),
                         "low": (np.minimum(o, c) * 0.995).round(2), "close": c.round(2),
                         "volume": 1000.0},
                        index=pd.bdate_range("2018-01-02", periods=n, tz="UTC"))


BASE = ReplayConfig(symbol="XYZ", commission_rate=Decimal("0.001"))


def test_ranges_and_constraints() -> None:
    assert parse_range("fast=5:20:5") == ("fast", [5, 10, 15, 20])
    assert parse_range("k=0.5:1.5:0.5") == ("k", [0.5, 1.0, 1.5])
    assert parse_range("slow=10,30,50") == ("slow", [10, 30, 50])
    for bad in ("fast", "fast=", "fast=5:1", "fast=1:5:0", "x=1:inf"):
        with pytest.raises(ValidationError):
            parse_range(bad)
    keep = compile_constraint("fast < slow and slow - fast >= 10", ["fast", "slow"])
    assert keep({"fast": 5, "slow": 20}) and not keep({"fast": 15, "slow": 20})
    for bad in ("__import__('os')", "fast.real < 3", "other < 3", "fast <"):
        with pytest.raises(ValidationError):
            compile_constraint(bad, ["fast", "slow"])
    space = {"fast": [2, 4, 6], "slow": [4, 8]}
    assert grid(space, compile_constraint("fast < slow", list(space))) == [
        {"fast": 2, "slow": 4}, {"fast": 2, "slow": 8}, {"fast": 4, "slow": 8},
        {"fast": 6, "slow": 8}]
    picked = random_sample(space, lambda p: True, 3, seed=1)
    assert len(picked) == 3 and picked == random_sample(space, lambda p: True, 3, seed=1)


def test_the_search_finds_the_brute_force_best_in_parallel() -> None:
    frame = _frame()
    space = {"fast": [3, 5, 8, 12], "slow": [10, 20, 30]}
    cands = grid(space, compile_constraint("fast < slow", list(space)))
    results = run_candidates(frame, BASE, cands, 252, "UTC", workers=2)
    brute = []
    for p in cands:  # the plain loop, one run after another in this process
        res = run_replay(frame, ReplayConfig(symbol="XYZ", commission_rate=Decimal("0.001"),
                                             params=p))
        stats = compute_stats(build_round_trips(res.fills), res.equity, periods_per_year=252,
                              tz="UTC")
        brute.append((stats["sharpe"], stats["total_return"], p))
    want = max(brute, key=lambda t: t[0])
    top = best(results, "sharpe")
    assert {k: int(top[k]) for k in space} == want[2]
    assert top["sharpe"] == pytest.approx(want[0], rel=1e-12)
    lowest_dd = best(results, "max_drawdown", maximize=False)
    assert lowest_dd["max_drawdown"] == results["max_drawdown"].min()
    with pytest.raises(ValidationError, match="not a reported figure"):
        best(results, "sharp")


def test_walk_forward_chooses_in_sample_only() -> None:
    frame = _frame(600)
    ws = windows(frame.index, 3, 0.3)
    assert all(a.oos_start > a.is_start for a in ws)
    assert all(ws[k].oos_end < ws[k + 1].oos_start for k in range(2))  # OOS windows tile
    cands = grid({"fast": [3, 5, 8], "slow": [12, 20]}, lambda p: True)
    wf = walk_forward(frame, BASE, cands, "sharpe", 252, "UTC", 3, 0.3, workers=1)
    assert len(wf) == 3 and wf["oos_sharpe"].notna().any()
    # the future cannot choose the parameters: scrambling every bar after the first window's
    # in-sample part leaves that window's choice and in-sample figure unchanged
    cut = frame.index.searchsorted(ws[0].oos_start)
    scrambled = frame.copy()
    scrambled.iloc[cut:] = scrambled.iloc[cut:].iloc[::-1].to_numpy()
    wf2 = walk_forward(scrambled, BASE, cands, "sharpe", 252, "UTC", 3, 0.3, workers=1)
    assert (wf2.loc[0, ["fast", "slow", "is_sharpe"]] == wf.loc[0, ["fast", "slow",
                                                                     "is_sharpe"]]).all()


def test_cli_writes_results_heatmap_and_walk_forward(tmp_path: Path,
                                                     capsys: pytest.CaptureFixture[str]) -> None:
    f = _frame(500)
    path = tmp_path / "x.csv"
    f.tz_localize(None).rename_axis("Date").reset_index().assign(
        Date=lambda d: d.Date.dt.strftime("%Y-%m-%d")).to_csv(path, index=False)
    out = tmp_path / "opt"
    assert main(["optimize", "--data", str(path), "--range", "fast=3:9:3", "--range",
                 "slow=10:30:10", "--constraint", "fast < slow", "--maximize", "total_return",
                 "--walk-forward", "2", "--workers", "2", "--out", str(out)]) == 0
    summary = json.loads(capsys.readouterr().out)
    results = pd.read_csv(out / "results.csv")
    assert summary["candidates"] == len(results) == 9
    top = results.loc[results["total_return"].idxmax()]
    assert summary["best_params"] == {"fast": int(top["fast"]), "slow": int(top["slow"])}
    assert len(pd.read_csv(out / "walkforward.csv")) == 2
    page = (out / "optimize.html").read_text()
    assert "<svg" in page and "total_return by fast and slow" in page and "Walk-forward" in page
    assert main(["optimize", "--data", str(path), "--range", "fast=3:9:3", "--constraint",
                 "fast > 100", "--out", str(out)]) == 1
    assert "no parameter combination satisfies" in capsys.readouterr().out
