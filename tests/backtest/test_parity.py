"""Trade for trade with backtesting.py on the data it ships (not data tuned for this suite):
GOOG daily, EURUSD hourly (5-decimal prices), BTCUSD monthly where a short runs equity to zero
and the run stops, and BTCUSD with fractional sizes against ``FractionalBacktest``."""
from __future__ import annotations

import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from hybrid_manager import main
from tests.backtest.reference import sma_cross_strategy

bt = pytest.importorskip("backtesting")
DATA = Path(bt.__file__).parent / "test"


def _reference(name: str, fast: int, slow: int, commission: float,
               fractional_unit: float | None = None) -> tuple[pd.DataFrame, pd.Series, float]:
    df = pd.read_csv(DATA / f"{name}.csv", index_col=0, parse_dates=True)
    strat = sma_cross_strategy(fast, slow)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fractional_unit is not None:
            # FractionalBacktest's transformation (its run() fails on read-only indicator
            # arrays with this numpy): whole units of ``fractional_unit`` coins
            df = df.assign(**{c: df[c] * fractional_unit for c in ("Open", "High", "Low",
                                                                   "Close")},
                           Volume=df["Volume"] / fractional_unit)
        stats = bt.Backtest(df, strat, cash=10_000, commission=commission).run()
    return stats["_trades"], stats["_equity_curve"]["Equity"], stats["Equity Final [$]"]


def _ours(tmp_path: Path, name: str, fast: int, slow: int, commission: float,
          *extra: str) -> tuple[pd.DataFrame, pd.DataFrame]:
    out = tmp_path / name
    assert main(["replay", "--data", str(DATA / f"{name}.csv"), "--symbol", name,
                 "--param", f"fast={fast}", "--param", f"slow={slow}", "--cash", "10000",
                 "--commission", str(commission), "--out", str(out), *extra]) == 0
    return (pd.read_csv(out / "trades.csv", dtype={"entry_qty": str}),
            pd.read_csv(out / "equity.csv"))


def _same_trades(ours: pd.DataFrame, ref: pd.DataFrame, scale: float = 1.0) -> None:
    closed = ours[ours["exit_price"].notna()]
    assert len(closed) == len(ref) > 5
    assert [Decimal(q) for q in closed["entry_qty"]] == [
        Decimal(str(round(abs(s) * scale, 8))).normalize() for s in ref["Size"]]
    assert np.allclose(closed["entry_price"], ref["EntryPrice"] / scale, rtol=1e-9)
    assert np.allclose(closed["exit_price"], ref["ExitPrice"] / scale, rtol=1e-9)
    assert list(pd.to_datetime(closed["entry_time"]).dt.date) == list(
        pd.to_datetime(ref["EntryTime"]).dt.date)


@pytest.mark.parametrize(("name", "fast", "slow", "commission", "extra"), [
    ("GOOG", 10, 20, 0.002, ()),
    ("GOOG", 5, 30, 0.0, ()),
    ("EURUSD", 10, 20, 0.0002, ("--tz", "UTC")),
])
def test_trade_for_trade(tmp_path: Path, name: str, fast: int, slow: int, commission: float,
                         extra: tuple[str, ...]) -> None:
    ref, _, final = _reference(name, fast, slow, commission)
    ours, eq = _ours(tmp_path, name, fast, slow, commission, *extra)
    _same_trades(ours, ref)
    # cash is exact (no per-fill rounding): the end equals backtesting.py's to the cent
    assert abs(eq["equity"].iloc[-1] - final) <= 0.005


def test_a_run_stops_when_equity_reaches_zero(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    # SMA 7/8 on monthly BTCUSD: the ninth trade is a short into the 2019 rally
    ref, ref_eq, final = _reference("BTCUSD", 7, 8, 0.002)
    assert final == 0
    ours, eq = _ours(tmp_path, "BTCUSD", 7, 8, 0.002)
    assert '"reason": "equity reached zero"' in capsys.readouterr().out
    _same_trades(ours, ref)
    assert (eq["equity"] < 0).sum() == 0  # never below zero
    assert (eq["equity"] == 0).sum() == (ref_eq <= 0).sum() == 68


def test_fractional_sizes_equal_fractional_backtest(tmp_path: Path) -> None:
    unit = 1e-4
    ref, _, final = _reference("BTCUSD", 3, 6, 0.001, fractional_unit=unit)
    ours, eq = _ours(tmp_path, "BTCUSD", 3, 6, 0.001, "--qty-step", "0.0001")
    _same_trades(ours, ref, scale=unit)
    assert abs(eq["equity"].iloc[-1] - final) <= 0.01 * max(1, final / 1e6)
