"""Replay of a CSV through the suite's own strategy, sizing, risk, fill and report code."""
from __future__ import annotations

import csv
import json
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybrid_manager import main
from tests.backtest.reference import sma_cross_strategy


def _write(path: Path, closes: list[float], opens: list[float] | None = None) -> Path:
    idx = pd.bdate_range("2020-01-02", periods=len(closes))
    opens = opens or closes
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["Date", "Open", "High", "Low", "Close", "Volume"])
        for d, o, c in zip(idx, opens, closes, strict=True):
            w.writerow([d.strftime("%Y-%m-%d"), o, max(o, c) + 1, min(o, c) - 1, c, 1000])
    return path


def _replay(tmp_path: Path, data: Path, *extra: str) -> tuple[list[dict], dict]:
    out = tmp_path / "out"
    code = main(["replay", "--data", str(data), "--symbol", "XYZ", "--strategy", "sma_cross",
                 "--param", "fast=2", "--param", "slow=3", "--cash", "1000",
                 "--out", str(out), *extra])
    assert code == 0
    for name in ("trades.csv", "equity.csv", "report.json", "report.html"):
        assert (out / name).stat().st_size > 0
    with (out / "trades.csv").open() as f:
        trades = list(csv.DictReader(f))
    return trades, json.loads((out / "report.json").read_text())


def test_hand_checked_long_then_short(tmp_path: Path) -> None:
    # closes: SMA2 crosses above SMA3 on bar 4 (index 4), below on bar 8.
    closes = [10, 10, 10, 10, 13, 14, 15, 15, 9, 8, 8, 8]
    opens = [10, 10, 10, 10, 12, 20, 14, 15, 10, 30, 8, 8]
    trades, report = _replay(tmp_path, _write(tmp_path / "x.csv", closes, opens),
                             "--commission", "0.01")
    # long at bar 5's open (20): shares = floor(1000 / (20 * 1.01)) = 49; fee 9.80
    # closed at bar 9's open (30): +490 gross, fee 14.70; then short at 30 with the equity
    # 1000 - 9.80 + 490 - 14.70 = 1465.50 -> floor(1465.50 / 30.30) = 48 shares, fee 14.40
    assert [t["side"] for t in trades] == ["long", "short"]
    long, short = trades
    assert (long["entry_qty"], long["entry_price"], long["exit_price"]) == ("49", "20", "30")
    assert Decimal(long["gross_pnl"]) == Decimal("490")
    assert Decimal(long["fees"]) == Decimal("24.50")
    assert (short["entry_qty"], short["entry_price"], short["exit_time"]) == ("48", "30", "")
    final = Decimal(report["equity"][-1]["equity"])
    # last close 8: cash 1465.50 + 48*30 - 14.40 = 2891.10; equity = cash - 48*8 = 2507.10
    assert final == Decimal("2507.10")


def test_no_short_and_fixed_sizing(tmp_path: Path) -> None:
    closes = [10, 10, 10, 10, 13, 14, 15, 15, 9, 8, 8, 8]
    trades, _ = _replay(tmp_path, _write(tmp_path / "x.csv", closes), "--no-short",
                        "--sizing", "fixed:100")
    assert [t["side"] for t in trades] == ["long"]
    assert trades[0]["entry_qty"] == "7"  # floor(100 / 14)


def test_cross_check_against_backtesting_py(tmp_path: Path) -> None:
    bt = pytest.importorskip("backtesting")
    rng = np.random.default_rng(3)
    n = 800
    c = 100 * np.exp(np.cumsum(rng.normal(0.0002, 0.015, n)))
    o = (c * (1 + rng.normal(0, 0.004, n))).round(2)
    c = c.round(2)
    idx = pd.bdate_range("2015-01-02", periods=n)
    df = pd.DataFrame({"Open": o, "High": np.maximum(o, c) + 0.5, "Low": np.minimum(o, c) - 0.5,
                       "Close": c, "Volume": 1000}, index=idx)
    path = tmp_path / "r.csv"
    df.rename_axis("Date").reset_index().assign(Date=lambda d: d.Date.dt.strftime("%Y-%m-%d")) \
        .to_csv(path, index=False)

    SmaCross = sma_cross_strategy(10, 20)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        stats = bt.Backtest(df, SmaCross, cash=10_000, commission=0.002).run()
    ref = stats["_trades"]
    out = tmp_path / "out"
    assert main(["replay", "--data", str(path), "--symbol", "XYZ", "--param", "fast=10",
                 "--param", "slow=20", "--cash", "10000", "--commission", "0.002",
                 "--out", str(out)]) == 0
    ours = pd.read_csv(out / "trades.csv")
    # backtesting.py leaves the trade still open at the end out of its list; ours shows it
    assert ours["exit_price"].isna().sum() == 1 and ours["exit_price"].iloc[-1] != ours[
        "exit_price"].iloc[-1]
    ours = ours.iloc[:-1]
    assert len(ours) == len(ref) > 20
    assert list(ours["entry_qty"]) == [abs(int(s)) for s in ref["Size"]]
    assert np.allclose(ours["entry_price"], ref["EntryPrice"], atol=1e-6)
    closed = ours["exit_price"].notna()
    assert np.allclose(ours.loc[closed, "exit_price"], ref["ExitPrice"][closed.to_numpy()],
                       atol=1e-6)
    eq = pd.read_csv(out / "equity.csv")
    # the backtest keeps cash exact (no per-fill rounding): equal to the cent
    assert abs(eq["equity"].iloc[-1] - stats["Equity Final [$]"]) <= 0.005


@pytest.mark.parametrize(("kind", "params"), [("sma_cross", {"fast": 5, "slow": 12}),
                                              ("ema_cross", {"fast": 4, "slow": 9}),
                                              ("macd_cross", {})])
def test_screened_signals_equal_evaluating_every_bar(kind: str, params: dict) -> None:
    from backtest.engine import signals
    from shared.ta import Strategy

    rng = np.random.default_rng(11)
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.02, 600)))
    frame = pd.DataFrame({"open": c, "high": c * 1.01, "low": c * 0.99, "close": c,
                          "volume": 1000.0}, index=pd.bdate_range("2020-01-01", periods=600,
                                                                  tz="UTC"))
    strat = Strategy(kind, kind, params)
    data = {k: frame[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close",
                                                             "volume")}
    outputs = {spec.key: spec.compute(data) for spec in strat.specs.values()}
    every = np.zeros(600, dtype="int8")
    for i in range(1, 600):  # the live rule on every bar, unscreened
        sig = strat.evaluate({k: {n: a[:i + 1] for n, a in o.items()} for k, o in
                              outputs.items()}, {k: a[:i + 1] for k, a in data.items()})
        every[i] = {"long": 1, "short": -1}.get(sig.direction, 0)
    screened = signals(frame, strat)
    assert (every != 0).sum() > 10
    assert np.array_equal(screened, every)


def test_equal_values_are_not_a_cross_whatever_the_noise() -> None:
    """An SMA and an EMA of a flat series are equal but for the last bits: no signal."""
    from backtest.engine import signals
    from shared.ta import Strategy
    from shared.ta.strategies import _cross

    assert _cross(1.0, 1.0 + 1e-13, 1.0 + 1e-13, 1.0) == 0
    assert _cross(100.0, 100.0 + 2e-12, 100.0 + 1e-12, 100.0) == 0
    assert _cross(1.0, 1.1, 1.05, 1.0) == 1
    n = 300
    rng = np.random.default_rng(2)
    c = np.r_[100 * np.exp(np.cumsum(rng.normal(0, 0.01, 100))), np.full(n - 100, 101.3)]
    frame = pd.DataFrame({"open": c, "high": c, "low": c, "close": c, "volume": 1000.0},
                         index=pd.bdate_range("2020-01-01", periods=n, tz="UTC"))
    sig = signals(frame, Strategy("sma_cross", "sma_cross", {"fast": 3, "slow": 8}))
    # the flat stretch starts at bar 100: once both averages settle on it, nothing fires
    assert (sig[120:] != 0).sum() == 0
    # and the same series with noise in the 15th digit fires nowhere there either
    frame2 = frame.copy()
    frame2.loc[frame2.index[100:], "close"] = 101.3 + rng.normal(0, 1e-13, n - 100)
    assert (signals(frame2, Strategy("sma_cross", "sma_cross",
                                     {"fast": 3, "slow": 8}))[120:] != 0).sum() == 0
