"""Replay one strategy over a frame of bars with the live suite's own code, as fast as it can.

The signal comes from technical analysis's ``Strategy`` (the same rule the service runs), the
sizing from coordination's ``size_entry``, the pre-trade checks from paper trading's
``check_order``, and every fill from paper trading's ``evaluate`` / ``commission`` /
``apply_fill`` / ``fill_cash``; the report from reporting's ``build_report``.  A signal on bar
i's close becomes a market order filled at bar i+1's open (no look-ahead: indicators are
causal, so computing them once over the whole series and reading them up to bar i gives the
values a live run would have seen at bar i).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from shared.analytics import Fill, equity_series
from shared.config_sections.coordination import Sizing
from shared.domain.money import D, cents
from shared.strategy import FLAT, is_file_ref, load_strategy, run_signals
from shared.strategy.api import FIELDS
from shared.ta import Strategy
from shared.ta.strategies import CROSS_ABS_TOL, CROSS_REL_TOL
from shared.trading import (
    Bar,
    Costs,
    OrderIntent,
    OrderState,
    OrderType,
    Position,
    RiskContext,
    RiskLimits,
    RiskRejection,
    Side,
    apply_fill,
    check_order,
    commission,
    evaluate,
)
from shared.trading.sizing import size_entry

ZERO = Decimal(0)


@dataclass(frozen=True)
class ReplayConfig:
    symbol: str
    strategy: str = "sma_cross"
    params: dict[str, Any] = field(default_factory=dict)
    cash: Decimal = Decimal(10000)
    commission_rate: Decimal = ZERO       # fraction of notional (0.002 = 0.2%)
    slippage_bps: Decimal = ZERO
    sizing: Sizing = Sizing(method="all_in")
    allow_short: bool = True
    qty_step: Decimal = Decimal(1)        # sizes are multiples of it (0.0001 for a coin)
    # cash and fees rounded to this per fill; None keeps them exact (a backtest of 5-decimal
    # prices must, or sizes drift a unit from the cash really left); 0.01 books like a broker
    money_quantum: Decimal | None = None
    # close a trade still open after the last bar at that bar's close (backtesting.py's
    # finalize_trades closes it at the last bar's open, a price from before the decision)
    finalize_trades: bool = False
    # no order before this time (bars before it only warm the indicators up): the
    # out-of-sample window of a walk-forward starts here with its indicators already formed
    trade_from: Any = None


@dataclass
class ReplayResult:
    fills: list[Fill]
    equity: pd.Series
    rejections: list[dict[str, Any]]
    final_cash: Decimal
    position: Position
    # set when the run stopped early: {"reason": ..., "ts": ...}
    stopped: dict[str, Any] | None = None


# The two series whose crossing is each crossing kind's whole rule: (role, output) pairs.
# Only bars where they cross can fire, so ``signals`` screens for them with one vectorised
# pass and runs the live strategy's own ``evaluate`` on those bars alone.
CROSSINGS: dict[str, tuple[tuple[str, str], tuple[str, str]]] = {
    "sma_cross": (("fast", "real"), ("slow", "real")),
    "ema_cross": (("fast", "real"), ("slow", "real")),
    "macd_cross": (("macd", "macd"), ("macd", "macdsignal")),
}


def _bar(ts: Any, row: np.ndarray, duration: timedelta) -> Bar:
    o, h, lo, c, v = row
    return Bar(ts, D(float(o)), D(float(h)), D(float(lo)), D(float(c)), int(v), duration)


def _sides(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return +1/-1/0 per bar: ``a`` above, below or equal to ``b`` (the live rule's
    ``side_of``, vectorised; NaN compares as neither above nor below)."""
    with np.errstate(invalid="ignore"):
        tol = np.maximum(CROSS_REL_TOL * np.maximum(np.abs(a), np.abs(b)), CROSS_ABS_TOL)
        eq = np.abs(a - b) <= tol
        return np.where(eq, 0, np.where(a > b, 1, np.where(a < b, -1, 0)))


def _crossing_bars(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Return the indexes i >= 1 where ``a`` crosses ``b`` between bars i-1 and i (a superset
    of where the strategy's crossing rule fires: the same comparisons, NaN never crosses)."""
    s = _sides(a, b)
    finite = np.isfinite(a) & np.isfinite(b)
    s0, s1 = s[:-1], s[1:]
    ok = finite[:-1] & finite[1:]
    hit = ok & (((s0 <= 0) & (s1 > 0)) | ((s0 >= 0) & (s1 < 0)))
    return np.flatnonzero(hit) + 1


def signals(frame: pd.DataFrame, strategy: Strategy) -> np.ndarray:
    """Return +1 / -1 / 0 per bar: the strategy's direction on that bar's close.

    The indicators are computed once over the whole series (TA-Lib, causal, so the values up
    to bar i are what a live run saw at bar i); the strategy's own ``evaluate`` then judges
    each bar on the arrays cut at that bar, skipping for crossing kinds the bars where its
    two series do not cross.
    """
    data = {k: frame[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close",
                                                             "volume")}
    outputs = {spec.key: spec.compute(data) for spec in strategy.specs.values()}
    out = np.zeros(len(frame), dtype="int8")
    pair = CROSSINGS.get(strategy.kind)
    if pair is not None:
        (ra, oa), (rb, ob) = pair
        bars = _crossing_bars(outputs[strategy.specs[ra].key][oa],
                              outputs[strategy.specs[rb].key][ob])
    else:
        bars = np.arange(1, len(frame))
    for i in bars.tolist():
        view = {k: {n: a[:i + 1] for n, a in o.items()} for k, o in outputs.items()}
        sig = strategy.evaluate(view, {k: a[:i + 1] for k, a in data.items()})
        out[i] = 1 if sig.direction == "long" else -1 if sig.direction == "short" else 0
    return out


def strategy_signals(frame: pd.DataFrame, cfg: ReplayConfig) -> np.ndarray:
    """Return the signal code per bar of ``cfg.strategy``: a built-in kind, or a user's
    ``file.py:Class`` run through ``shared.strategy`` (1 long, -1 short, FLAT, 0 none).

    Raises:
        ConfigError: an unknown built-in or bad parameters; StrategyError: a user strategy
            that fails to load or raises (file and line named), or reads ahead.
    """
    if is_file_ref(cfg.strategy):
        cls = load_strategy(cfg.strategy)
        data = {k: frame[k].to_numpy(dtype="float64") for k in FIELDS}
        codes, _ = run_signals(cls, data, frame.index.tz_convert("UTC").tz_localize(None)
                               .to_numpy(dtype="datetime64[ns]"), cfg.params, cfg.symbol)
        return codes
    return signals(frame, Strategy(cfg.strategy, cfg.strategy, cfg.params))


#: a run's progress callback: (bars done, bars in all), called about every 2% of the bars
Progress = Callable[[int, int], None]


def progress_every(total: int) -> int:
    """Return how many bars pass between two progress calls (about 2% of ``total``)."""
    return max(1, total // 50)


def run_replay(frame: pd.DataFrame, cfg: ReplayConfig,
               progress: Progress | None = None) -> ReplayResult:
    """Replay ``cfg.strategy`` over ``frame`` (UTC index; open, high, low, close, volume).

    ``progress`` (optional) is told the bars done and in all about every 2% of the loop.

    Raises:
        ConfigError: for an unknown strategy or bad parameters.
        ValueError: for an empty frame.
    """
    if frame.empty:
        raise ValueError("no bars to replay")
    sig = strategy_signals(frame, cfg)
    costs = Costs(slippage_bps=cfg.slippage_bps, commission_percent=cfg.commission_rate * 100)
    limits = RiskLimits()
    step = (frame.index[1] - frame.index[0] if len(frame) > 1
            else pd.Timedelta(days=1)).to_pytimedelta()
    values = frame[["open", "high", "low", "close", "volume"]].to_numpy()
    times = list(frame.index.to_pydatetime())
    # converted once: the loop below only adds and multiplies Decimals
    closes = [D(x) for x in values[:, 3].tolist()]
    cash, pos = cfg.cash, Position(cfg.symbol)
    fills: list[Fill] = []
    rejections: list[dict[str, Any]] = []
    points: list[tuple[Any, Decimal]] = []
    want, held, qty = 0, 0, pos.qty
    last = len(frame) - 1
    first = 0
    if cfg.trade_from is not None:
        first = int(frame.index.searchsorted(pd.Timestamp(cfg.trade_from), "left"))
        if first > 0:
            sig[:first] = 0
        times, values, closes = times[first:], values[first:], closes[first:]
        sig = sig[first:]
        last = len(times) - 1
    every, total = progress_every(len(sig)), len(sig)
    for i, s in enumerate(sig.tolist()):
        if progress is not None and i % every == 0:
            progress(i, total)
        if want != 0:
            bar = _bar(times[i], values[i], step)
            cash, pos = _act(want, bar, cash, pos, cfg, costs, limits, fills, rejections, i)
            want, qty = 0, pos.qty
            held = 1 if qty > 0 else -1 if qty < 0 else 0
        if s != 0 and s != held and not (s == FLAT and held == 0) and i < last:
            want = s
        equity = cash + qty * closes[i]
        if equity <= 0:
            # backtesting.py's rule, and a real account's: with nothing left, everything is
            # closed at this bar's close and the run ends; equity stays 0 to the last bar
            if qty != 0:
                at_close = _bar(times[i], np.array([values[i, 3]] * 4 + [values[i, 4]]), step)
                side = Side.SELL if qty > 0 else Side.BUY
                cash, pos = _fill(side, abs(qty), at_close, costs, cash, pos, fills, cfg, i)
            cash = ZERO
            points += [(t, ZERO) for t in times[i:]]
            stopped = {"reason": "equity reached zero", "ts": times[i]}
            return ReplayResult(fills, equity_series(points), rejections, cash, pos, stopped)
        points.append((times[i], cents(equity)))
    if cfg.finalize_trades and pos.qty != 0:
        at_close = _bar(times[last], np.array([values[last, 3]] * 4 + [values[last, 4]]), step)
        side = Side.SELL if pos.qty > 0 else Side.BUY
        cash, pos = _fill(side, abs(pos.qty), at_close, costs, cash, pos, fills, cfg, last)
        points[-1] = (times[last], cents(cash))
    return ReplayResult(fills, equity_series(points), rejections, cash, pos)


def _fill(side: Side, qty: Decimal, bar: Bar, costs: Costs, cash: Decimal, pos: Position,
          fills: list[Fill], cfg: ReplayConfig, n: int) -> tuple[Decimal, Position]:
    d = evaluate(OrderState(side=side, type=OrderType.MARKET, remaining=qty,
                            fractionable=cfg.qty_step < 1), bar, costs)
    q = cfg.money_quantum
    fee = commission(d.qty, d.price, costs, True, q)  # type: ignore[arg-type]
    eff = apply_fill(pos, side, d.qty, d.price, q)  # type: ignore[arg-type]
    fills.append(Fill(bar.ts, cfg.symbol, side.value, d.qty, d.price, fee,  # type: ignore[arg-type]
                      order_id=f"r{n}-{len(fills)}", strategy=cfg.strategy,
                      fill_id=f"f{len(fills)}", cash=eff.cash))
    return cash + eff.cash - fee, eff.position


def _act(want: int, bar: Bar, cash: Decimal, pos: Position, cfg: ReplayConfig, costs: Costs,
         limits: RiskLimits, fills: list[Fill], rejections: list[dict[str, Any]],
         n: int) -> tuple[Decimal, Position]:
    """Close an opposite position, then open ``want`` at this bar's open (after risk checks);
    ``FLAT`` only closes."""
    if pos.qty != 0 and (want == FLAT or (pos.qty > 0) != (want > 0)):
        side = Side.SELL if pos.qty > 0 else Side.BUY
        cash, pos = _fill(side, abs(pos.qty), bar, costs, cash, pos, fills, cfg, n)
    if want == FLAT:
        return cash, pos
    if want < 0 and not cfg.allow_short:
        return cash, pos
    side = Side.BUY if want > 0 else Side.SELL
    ref = evaluate(OrderState(side=side, type=OrderType.MARKET, remaining=Decimal(1),
                              fractionable=False), bar, costs).price
    equity = cash + pos.qty * bar.open
    size = size_entry(want > 0, ref, cfg.sizing, equity=equity, cash=equity,  # type: ignore[arg-type]
                      commission_rate=cfg.commission_rate, step=cfg.qty_step)
    if size.qty <= 0:
        rejections.append({"ts": bar.ts, "reason": "size_zero"})
        return cash, pos
    ctx = RiskContext(equity=equity, buying_power=equity, position_qty=pos.qty,
                      open_positions=0, shortable=cfg.allow_short, margin=cfg.allow_short)
    try:
        check_order(OrderIntent(cfg.symbol, side.sign * size.qty, ref), ctx, limits)  # type: ignore[arg-type]
    except RiskRejection as exc:
        rejections.append({"ts": bar.ts, "reason": exc.rule})
        return cash, pos
    return _fill(side, size.qty, bar, costs, cash, pos, fills, cfg, n)
