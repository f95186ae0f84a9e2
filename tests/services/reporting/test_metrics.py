"""Each formula against a hand computation, a pandas reference and empyrical."""
from __future__ import annotations

import math
import statistics
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import empyrical
import numpy as np
import pandas as pd
import pytest

from shared.analytics import (
    build_round_trips,
    compute_stats,
    daily_pnl,
    drawdown_stats,
    equity_series,
    exposure,
    trade_stats,
)
from shared.analytics.metrics import MIN_DAILY_RETURNS
from tests.services.reporting.factories import T0, fill

D = Decimal


def daily_curve(values: list[object], start: str = "2024-01-02") -> pd.Series:
    """One equity point per business day at 21:00 UTC (after the New York close)."""
    days = pd.bdate_range(start, periods=len(values), tz="UTC") + pd.Timedelta(hours=21)
    return equity_series(zip(days, values, strict=True))


HAND = ["100", "110", "99", "108.9", "120"]


def test_hand_computed_return_figures() -> None:
    eq = daily_curve(HAND)
    s = compute_stats([], eq, annualize_min_days=1, min_daily_returns=2)
    r = [0.1, -0.1, 0.1, 120 / 108.9 - 1]
    assert s["trading_days"] == 4  # the first point is the baseline, as pct_change().dropna()
    assert s["pnl"] == D("20") and s["total_return"] == pytest.approx(0.2)
    assert s["annualized_return"] == pytest.approx(1.2 ** (252 / 4) - 1)
    assert s["volatility"] == pytest.approx(statistics.stdev(r) * math.sqrt(252))
    assert s["sharpe"] == pytest.approx(statistics.mean(r) / statistics.stdev(r) * math.sqrt(252))
    downside = math.sqrt(0.01 / 4)  # one -10% day over four
    assert s["sortino"] == pytest.approx(statistics.mean(r) * 252 / (downside * math.sqrt(252)))
    assert s["max_drawdown"] == pytest.approx(-0.1)
    assert s["max_drawdown_amount"] == D("-11")
    assert s["max_drawdown_peak"] == eq.index[1] and s["max_drawdown_trough"] == eq.index[2]
    assert s["max_drawdown_recovery"] == eq.index[4]
    assert s["max_drawdown_duration_steps"] == 3 and not s["drawdown_ongoing"]
    assert s["max_drawdown_duration_seconds"] == (eq.index[4] - eq.index[1]).total_seconds()
    assert s["best_day"] == D("11.1") and s["worst_day"] == D("-11")


def test_risk_free_rate_is_taken_per_period() -> None:
    eq = daily_curve(HAND)
    r = np.array([0.1, -0.1, 0.1, 120 / 108.9 - 1]) - 0.05 / 252
    s = compute_stats([], eq, risk_free_rate=0.05, min_daily_returns=2)
    assert s["sharpe"] == pytest.approx(r.mean() / r.std(ddof=1) * math.sqrt(252))


def test_short_history_is_not_annualized_and_says_why() -> None:
    s = compute_stats([], daily_curve(HAND), annualize_min_days=30)
    assert s["annualized_return"] is None
    assert any("annualized_return not given: 4 trading day" in n for n in s["notes"])
    one = compute_stats([], daily_curve(["100"]))
    assert one["sharpe"] is None and one["volatility"] is None and one["total_return"] == 0
    assert any("at least 20 daily returns (0 so far)" in n for n in one["notes"])
    empty = compute_stats([], equity_series([]))
    assert empty["total_return"] is None and empty["exposure"] is None
    assert empty["max_drawdown"] == 0.0 and empty["trades"] == 0


def test_return_figures_need_the_documented_minimum_of_daily_returns() -> None:
    rng = np.random.default_rng(7)
    values = 10_000 * np.cumprod(np.concatenate([[1.0], 1 + rng.normal(0, 0.01, 20)]))
    curve = [round(v, 6) for v in values.tolist()]
    few = compute_stats([], daily_curve(curve[:20]))  # 19 daily returns
    assert few["trading_days"] == 19
    assert few["sharpe"] is None and few["sortino"] is None and few["volatility"] is None
    assert few["unavailable"]["sharpe"] == "not enough data: 19 daily return(s), needs 20"
    assert few["minimums"]["sharpe"] == {"daily_returns": MIN_DAILY_RETURNS} == \
        few["minimums"]["sortino"]
    assert few["minimums"]["annualized_return"] == {"trading_days": 30}
    assert few["unavailable"]["annualized_return"].startswith("not enough data: 19 trading")
    enough = compute_stats([], daily_curve(curve))  # 20
    assert enough["sharpe"] is not None and enough["volatility"] is not None
    assert "sharpe" not in enough["unavailable"]
    two_days = compute_stats([], daily_curve(["100", "90", "80"]))  # the Sharpe -35
    assert two_days["sharpe"] is None


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_against_empyrical(seed: int) -> None:
    rng = np.random.default_rng(seed)
    r = rng.normal(0.0005, 0.012, 300)
    r[0] = abs(r[0])  # empyrical's drawdown starts at the first return, ours at the baseline
    values = 10_000 * np.cumprod(np.concatenate([[1.0], 1 + r]))
    eq = daily_curve([round(v, 6) for v in values.tolist()])
    rets = pd.Series(eq.astype(float).pct_change().dropna().to_numpy())
    rf = 0.03
    s = compute_stats([], eq, risk_free_rate=rf)
    assert s["trading_days"] == 300
    assert s["sharpe"] == pytest.approx(empyrical.sharpe_ratio(rets, risk_free=rf / 252))
    assert s["sortino"] == pytest.approx(
        empyrical.sortino_ratio(rets, required_return=rf / 252))
    assert s["volatility"] == pytest.approx(empyrical.annual_volatility(rets))
    assert s["max_drawdown"] == pytest.approx(empyrical.max_drawdown(rets))
    assert s["annualized_return"] == pytest.approx(empyrical.annual_return(rets))
    assert s["total_return"] == pytest.approx(empyrical.cum_returns_final(rets))


def test_drawdown_against_pandas_reference_on_intraday_curve() -> None:
    rng = np.random.default_rng(7)
    idx = pd.date_range("2024-03-04 14:30", periods=2000, freq="min", tz="UTC")
    values = np.round(1000 + np.cumsum(rng.normal(0, 1, len(idx))), 2)
    eq = equity_series(zip(idx, [str(v) for v in values], strict=True))
    ref = pd.Series(values, index=idx)
    dd_ref = ref / ref.cummax() - 1
    st = drawdown_stats(eq)
    assert st.max_drawdown == pytest.approx(dd_ref.min())
    assert st.trough_ts == dd_ref.idxmin()
    # longest under-water span, computed independently from run lengths of dd < 0
    under = (dd_ref < 0).to_numpy()
    best, run_start = pd.Timedelta(0), None
    for i, u in enumerate(under):
        if u and run_start is None:
            run_start = i - 1
        if not u and run_start is not None:
            best, run_start = max(best, idx[i] - idx[run_start]), None
    if run_start is not None:
        best = max(best, idx[-1] - idx[run_start])
    assert st.max_duration == best.to_pytimedelta()


def test_daily_pnl_sums_exactly_and_matches_pandas_resample() -> None:
    idx = pd.date_range("2024-03-04 14:30", periods=3 * 24 * 60, freq="7min", tz="UTC")
    rng = np.random.default_rng(3)
    values = [D(str(round(v, 2))) for v in 5000 + np.cumsum(rng.normal(0, 2, len(idx)))]
    eq = equity_series(zip(idx, values, strict=True))
    days = daily_pnl(eq)
    assert sum((d.pnl for d in days), D(0)) == values[-1] - values[0]
    local = pd.Series([float(v) for v in values], index=idx.tz_convert("America/New_York"))
    closes = local.groupby(local.index.date).last()
    ref = closes.diff()
    ref.iloc[0] = closes.iloc[0] - float(values[0])
    assert [d.day for d in days] == list(closes.index)
    assert [float(d.pnl) for d in days] == pytest.approx(ref.tolist())


def _trips(pnls: list[int]) -> list:
    fills = []
    for i, p in enumerate(pnls):
        fills += [fill(10 * i, "buy", 1, "100", strategy="s"),
                  fill(10 * i + 5, "sell", 1, str(100 + p))]
    return build_round_trips(fills)


def test_trade_figures_hand_computed() -> None:
    s = trade_stats(_trips([10, -5, 0, 20, -15]))
    assert (s["trades"], s["wins"], s["losses"], s["breakeven"]) == (5, 2, 2, 1)
    assert s["win_rate"] == pytest.approx(0.4)
    assert s["profit_factor"] == pytest.approx(1.5)
    assert s["expectancy"] == D("2")
    assert s["avg_win"] == D("15") and s["avg_loss"] == D("-10")
    assert s["largest_win"] == D("20") and s["largest_loss"] == D("-15")
    assert s["avg_holding_seconds"] == 300
    # expectancy = win_rate * avg_win + loss_rate * avg_loss (break-evens add zero)
    assert float(s["expectancy"]) == pytest.approx(0.4 * 15 + 0.4 * -10)
    only_wins = trade_stats(_trips([1, 2]))
    assert only_wins["profit_factor"] is None and only_wins["avg_loss"] is None
    none = trade_stats([])
    assert none["win_rate"] is None and none["expectancy"] is None


def test_exposure_counts_steps_with_an_open_trip() -> None:
    idx = pd.date_range(T0, periods=10, freq="min")
    a = build_round_trips([fill(2, "buy", 1, "1", symbol="A"), fill(5, "sell", 1, "1",
                                                                    symbol="A")])
    assert exposure(a, idx) == pytest.approx(0.3)
    b = build_round_trips([fill(4, "buy", 1, "1", symbol="B"), fill(7, "sell", 1, "1",
                                                                    symbol="B")])
    assert exposure(a + b, idx) == pytest.approx(0.5)  # steps 2..6, overlap counted once
    c = build_round_trips([fill(8, "buy", 1, "1", symbol="C")])
    assert exposure(a + b + c, idx) == pytest.approx(0.7)


def test_trades_per_day_and_stats_over_trades() -> None:
    trips = _trips([10, -5, 0, 20, -15])
    idx = [T0 + timedelta(minutes=m) for m in range(0, 60, 5)]
    idx += [T0 + timedelta(days=1, minutes=m) for m in range(0, 60, 5)]
    eq = equity_series((t, 1000 + i) for i, t in enumerate(idx))
    s = compute_stats(trips, eq)
    assert s["trading_days"] == 2 and s["trades_per_day"] == pytest.approx(2.5)
    assert s["net_pnl"] == D("10") and s["trades"] == 5


def test_equity_series_validates() -> None:
    from shared.errors import ValidationError

    with pytest.raises(ValidationError):
        equity_series([(datetime(2024, 1, 1), 1)])
    with pytest.raises(ValidationError):
        equity_series([(datetime(2024, 1, 1, tzinfo=UTC), "abc")])
    s = equity_series([(T0, 2), (T0, 3), (T0 - timedelta(minutes=1), 1)])
    assert list(s) == [1, 3]
