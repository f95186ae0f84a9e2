"""A user's own strategy file in replay: the documented examples run, the crossover example
equals the built-in rule and backtesting.py, and mistakes are named by file and line."""
from __future__ import annotations

import json
import textwrap
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from backtest.engine import ReplayConfig, run_replay
from hybrid_manager import main
from shared.strategy import LookAheadError, StrategyError, load_strategy
from tests.backtest.reference import sma_cross_strategy

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "docs" / "strategies"
bt = pytest.importorskip("backtesting")
GOOG = Path(bt.__file__).parent / "test" / "GOOG.csv"


def _replay(tmp_path: Path, strategy: str, *extra: str, data: Path = GOOG) -> pd.DataFrame:
    out = tmp_path / "out"
    assert main(["replay", "--data", str(data), "--symbol", "GOOG", "--strategy", strategy,
                 "--commission", "0.002", "--out", str(out), *extra]) == 0
    return pd.read_csv(out / "trades.csv")


def test_the_crossover_example_trades_like_backtesting_py(tmp_path: Path) -> None:
    ours = _replay(tmp_path, f"{EXAMPLES}/sma_cross.py:SmaCross", "--param", "fast=10",
                   "--param", "slow=20")
    df = pd.read_csv(GOOG, index_col=0, parse_dates=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = bt.Backtest(df, sma_cross_strategy(10, 20), cash=10_000,
                          commission=0.002).run()["_trades"]
    closed = ours[ours["exit_price"].notna()]
    assert len(closed) == len(ref) == 93
    assert list(closed["entry_qty"]) == [abs(int(s)) for s in ref["Size"]]
    assert np.allclose(closed["exit_price"], ref["ExitPrice"])
    builtin = _replay(tmp_path, "sma_cross", "--param", "fast=10", "--param", "slow=20")
    assert builtin.drop(columns=["strategy", "trip_id", "entry_order_id"]).equals(
        ours.drop(columns=["strategy", "trip_id", "entry_order_id"]))


def test_the_mean_reversion_example_goes_flat(tmp_path: Path) -> None:
    trades = _replay(tmp_path, f"{EXAMPLES}/rsi_bands.py")
    assert len(trades) >= 3 and set(trades["side"]) == {"long"}


def _minute_bars(days: int = 6) -> pd.DataFrame:
    rng = np.random.default_rng(9)
    sessions = pd.bdate_range("2024-03-04", periods=days)
    idx = pd.DatetimeIndex([t for d in sessions for t in pd.date_range(
        d + pd.Timedelta(hours=9, minutes=30), periods=390, freq="min")]).tz_localize(
        "America/New_York")
    c = 50 * np.exp(np.cumsum(rng.normal(0, 0.0012, len(idx))))
    o = np.r_[c[0], c[:-1]]
    vol = rng.integers(1_000, 20_000, len(idx)).astype(float)
    return pd.DataFrame({"Open": o.round(4), "High": (np.maximum(o, c) * 1.0005).round(4),
                         "Low": (np.minimum(o, c) * 0.9995).round(4), "Close": c.round(4),
                         "Volume": vol}, index=idx)


def test_the_intraday_example_trades_once_a_day_and_never_holds_overnight(
        tmp_path: Path) -> None:
    df = _minute_bars()
    path = tmp_path / "spy.csv"
    df.rename_axis("Date").to_csv(path)
    trades = _replay(tmp_path, f"{EXAMPLES}/opening_range.py:OpeningRange", data=path)
    assert len(trades) >= 3
    entry = pd.to_datetime(trades["entry_time"]).dt.tz_convert("America/New_York")
    exit_ = pd.to_datetime(trades["exit_time"]).dt.tz_convert("America/New_York")
    assert entry.dt.date.value_counts().max() == 1          # one entry a day
    assert (entry.dt.time >= pd.Timestamp("09:46").time()).all()  # after the 15-minute range
    assert (exit_.dt.date == entry.dt.date).all()            # flat the same day
    assert (exit_.dt.time <= pd.Timestamp("15:51").time()).all()


def _write(tmp_path: Path, body: str) -> Path:
    path = tmp_path / "mine.py"
    path.write_text("from shared.strategy import Strategy\n\n" + textwrap.dedent(body))
    return path


def test_reading_a_bar_that_has_not_closed_names_the_line(tmp_path: Path,
                                                          capsys: pytest.CaptureFixture[str]
                                                          ) -> None:
    path = _write(tmp_path, """
        class Peek(Strategy):
            def next(self):
                if self.i > 30:
                    tomorrow = self.data.close[self.i + 1]
                    return self.long("knows tomorrow") if tomorrow > 0 else None
    """)
    out = tmp_path / "o"
    assert main(["replay", "--data", str(GOOG), "--strategy", f"{path}:Peek",
                 "--out", str(out)]) == 1
    msg = capsys.readouterr().out
    assert f"{path} line 7" in msg and "has not closed yet" in msg
    with pytest.raises(LookAheadError):
        run_replay(pd.read_csv(GOOG, index_col=0, parse_dates=True).rename(columns=str.lower)
                   .tz_localize("UTC"), ReplayConfig(symbol="GOOG", strategy=f"{path}:Peek"))


def test_a_strategy_that_raises_or_computes_ahead_is_named(tmp_path: Path,
                                                           capsys: pytest.CaptureFixture[str]
                                                           ) -> None:
    path = _write(tmp_path, """
        import numpy as np

        def centred(x):
            return np.convolve(x, np.ones(5) / 5, mode="same")

        class Boom(Strategy):
            def next(self):
                return None if self.i < 40 else self.long(str(1 / (self.i - 40)))

        class Centred(Strategy):
            def init(self):
                self.m = self.I(centred)

        class Wrong(Strategy):
            def next(self):
                return "buy"
    """)
    out = tmp_path / "o"
    assert main(["replay", "--data", str(GOOG), "--strategy", f"{path}:Boom",
                 "--out", str(out)]) == 1
    msg = capsys.readouterr().out
    assert f"{path} line 11 in next: ZeroDivisionError" in msg and "bar 40" in msg
    assert main(["replay", "--data", str(GOOG), "--strategy", f"{path}:Centred",
                 "--out", str(out)]) == 1
    msg = capsys.readouterr().out
    assert f"{path} line 15" in msg and "reads the future" in msg
    assert main(["replay", "--data", str(GOOG), "--strategy", f"{path}:Wrong",
                 "--out", str(out)]) == 1
    assert "return self.long(...)" in capsys.readouterr().out
    with pytest.raises(StrategyError, match="has no Strategy class 'Nope'"):
        load_strategy(f"{path}:Nope")
    with pytest.raises(StrategyError, match="defines 3 Strategy classes"):
        load_strategy(str(path))
    bad = tmp_path / "bad.py"
    bad.write_text("from shared.strategy import Strategy\nclass X(Strategy)\n    pass\n")
    with pytest.raises(StrategyError, match=f"{bad} line 2"):
        load_strategy(str(bad))
    capsys.readouterr()
    assert main(["replay", "--data", str(GOOG), "--strategy", f"{EXAMPLES}/sma_cross.py",
                 "--param", "fats=3", "--out", str(out)]) == 1
    assert "unknown parameter(s) ['fats']; it takes ['fast', 'slow']" in capsys.readouterr().out


@pytest.mark.parametrize("strategy", ["sma_cross", f"{EXAMPLES}/rsi_bands.py"])
def test_truncating_the_data_never_changes_trades_closed_before_the_cut(
        tmp_path: Path, strategy: str) -> None:
    frame = pd.read_csv(GOOG, index_col=0, parse_dates=True).rename(columns=str.lower)
    frame = frame.tz_localize("America/New_York").tz_convert("UTC")
    cfg = ReplayConfig(symbol="GOOG", strategy=strategy)
    full = run_replay(frame, cfg).fills
    for cut in (700, 1300, 1900):
        part = run_replay(frame.iloc[:cut], cfg).fills
        before = frame.index[cut - 1]
        want = [(f.ts, f.side, f.qty, f.price) for f in full if f.ts <= before]
        got = [(f.ts, f.side, f.qty, f.price) for f in part]
        assert got == want


def test_json_summary_names_the_user_strategy(tmp_path: Path,
                                              capsys: pytest.CaptureFixture[str]) -> None:
    _replay(tmp_path, f"{EXAMPLES}/sma_cross.py:SmaCross")
    assert json.loads(capsys.readouterr().out)["trades"] > 10


def test_the_documented_intraday_command_runs_on_the_built_in_market(tmp_path: Path) -> None:
    """docs/STRATEGIES.md's command, as written: a week of one-minute bars, five symbols."""
    out = tmp_path / "orb"
    assert main(["replay", "--market", "2024-03-04:2024-03-08", "--universe", "5", "--bars",
                 "1m", "--strategy", "docs/strategies/opening_range.py:OpeningRange",
                 "--out", str(out)]) == 0
    trades = pd.read_csv(out / "trades.csv")
    entry = pd.to_datetime(trades["entry_time"]).dt.tz_convert("America/New_York")
    exit_ = pd.to_datetime(trades["exit_time"]).dt.tz_convert("America/New_York")
    assert len(trades) >= 5 and (entry.dt.date == exit_.dt.date).all()
    assert trades.groupby([trades["symbol"], entry.dt.date]).size().max() == 1
