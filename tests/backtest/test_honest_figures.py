"""Figures a quant can trust: annualised from the data's own spacing and calendar, MAE/MFE
from the bars a trade lived through, and the last trade closed on request."""
from __future__ import annotations

import json
import warnings
from decimal import Decimal
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.annualize import periods_per_year
from hybrid_manager import main
from tests.backtest.reference import sma_cross_strategy

bt = pytest.importorskip("backtesting")
DATA = Path(bt.__file__).parent / "test"


def _replay(tmp_path: Path, name: str, fast: int, slow: int, capsys: pytest.CaptureFixture[str],
            *extra: str) -> tuple[dict, pd.DataFrame, pd.DataFrame]:
    out = tmp_path / name
    capsys.readouterr()
    assert main(["replay", "--data", str(DATA / f"{name}.csv"), "--symbol", name,
                 "--param", f"fast={fast}", "--param", f"slow={slow}", "--commission", "0.002",
                 "--out", str(out), *extra]) == 0
    return (json.loads(capsys.readouterr().out), pd.read_csv(out / "trades.csv"),
            pd.read_csv(out / "equity.csv", parse_dates=["ts"]))


def test_periods_per_year_follow_the_bars() -> None:
    def idx(freq: str, n: int = 400) -> pd.DatetimeIndex:
        return pd.date_range("2021-01-01", periods=n, freq=freq, tz="UTC")
    assert periods_per_year(idx("ME")) == 12
    assert periods_per_year(idx("W")) == 52
    assert periods_per_year(idx("D")) == 365          # every day: around the clock
    assert periods_per_year(idx("B")) == 252          # sessions
    assert periods_per_year(idx("h", 24 * 60)) == 365  # hourly, weekends included
    assert periods_per_year(idx("15min").where(idx("15min").day_of_week < 5).dropna()) == 252


def test_monthly_bars_annualise_with_twelve_periods(tmp_path: Path,
                                                    capsys: pytest.CaptureFixture[str]) -> None:
    figures, _, eq = _replay(tmp_path, "BTCUSD", 3, 6, capsys, "--tz", "UTC",
                             "--finalize-trades")
    assert figures["periods_per_year"] == 12
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        df = pd.read_csv(DATA / "BTCUSD.csv", index_col=0, parse_dates=True)
        ref = bt.Backtest(df, sma_cross_strategy(3, 6), cash=10_000, commission=0.002,
                          finalize_trades=True).run()
    # the annualised return is backtesting.py's to a tenth of a percentage point (it was
    # 882,987% with 252 periods a year)
    assert figures["annualized_return"] * 100 == pytest.approx(ref["Return (Ann.) [%]"], abs=0.1)
    # Sharpe: mean over standard deviation of the monthly returns, times sqrt(12)
    r = eq["equity"].pct_change().dropna().to_numpy()
    assert figures["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * np.sqrt(12), rel=1e-6)


def test_mae_and_mfe_come_from_the_bars(tmp_path: Path,
                                        capsys: pytest.CaptureFixture[str]) -> None:
    _, trades, _ = _replay(tmp_path, "GOOG", 10, 20, capsys)
    closed = trades[trades["exit_price"].notna()]
    assert len(closed) > 80
    # from fills only, every trade had one of them at 0; from the bars, few do
    assert ((closed["mae"] == 0) | (closed["mfe"] == 0)).mean() < 0.2
    bars = pd.read_csv(DATA / "GOOG.csv", index_col=0, parse_dates=True)
    t = closed.iloc[10]
    entry = pd.Timestamp(t["entry_time"]).tz_convert("America/New_York").date()
    exit_ = pd.Timestamp(t["exit_time"]).tz_convert("America/New_York").date()
    span = bars[(bars.index.date >= entry) & (bars.index.date < exit_)]
    qty = Decimal(str(t["max_qty"]))
    if t["side"] == "long":
        want_mfe = (Decimal(str(span["High"].max())) - Decimal(str(t["entry_price"]))) * qty
        want_mae = (Decimal(str(span["Low"].min())) - Decimal(str(t["entry_price"]))) * qty
    else:
        want_mfe = (Decimal(str(t["entry_price"])) - Decimal(str(span["Low"].min()))) * qty
        want_mae = (Decimal(str(t["entry_price"])) - Decimal(str(span["High"].max()))) * qty
    assert Decimal(str(t["mfe"])) == pytest.approx(max(want_mfe, Decimal(0)), abs=Decimal("0.01"))
    assert Decimal(str(t["mae"])) == pytest.approx(min(want_mae, Decimal(0)), abs=Decimal("0.01"))


def test_finalize_trades_closes_the_last_trade_at_the_last_close(
        tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    _, open_end, _ = _replay(tmp_path, "GOOG", 10, 20, capsys)
    assert open_end["exit_price"].isna().iloc[-1]
    figures, trades, eq = _replay(tmp_path, "GOOG", 10, 20, capsys, "--finalize-trades")
    assert trades["exit_price"].notna().all() and len(trades) == len(open_end)
    last_close = pd.read_csv(DATA / "GOOG.csv")["Close"].iloc[-1]
    assert trades["exit_price"].iloc[-1] == pytest.approx(last_close)
    assert Decimal(figures["final_equity"]) == Decimal(str(eq["equity"].iloc[-1]))
