"""Portfolio backtests: many symbols, one shared cash account, position limits.

Each symbol's signals come from the same strategy code as a single-symbol replay (a decision
on bar t fills at the symbol's next bar's open).  On each timestamp of the union of the
symbols' bars, exits are filled before entries (so freed cash can fund them), entries in a
stable order (strongest first is not knowable from a crossing, so by symbol), each entry sized
at ``equity / max_positions`` (or the sizing given) and capped by the cash not yet committed:
gross exposure never exceeds equity.  Equity is cash plus every position at its last close.
"""
from __future__ import annotations

from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from backtest.engine import Progress, ReplayConfig, progress_every, strategy_signals
from shared.analytics import Fill, equity_series
from shared.domain.money import D, cents
from shared.strategy import FLAT
from shared.trading import (
    Bar,
    Costs,
    OrderState,
    OrderType,
    Position,
    Side,
    apply_fill,
    commission,
    evaluate,
)

ZERO = Decimal(0)


@dataclass(frozen=True)
class PortfolioConfig:
    """The run: one strategy over many symbols, one account."""

    base: ReplayConfig                 # strategy, params, cash, costs, qty step...
    max_positions: int = 5
    position_pct: Decimal | None = None  # of equity per entry; default 100 / max_positions


@dataclass
class PortfolioResult:
    fills: list[Fill]
    equity: pd.Series
    final_cash: Decimal
    positions: dict[str, Position]
    skipped: list[dict[str, Any]]      # entries not taken: limit reached or no cash
    stopped: dict[str, Any] | None = None


def _bar(ts: Any, row: np.ndarray, step: Any) -> Bar:
    o, h, lo, c, v = row
    return Bar(ts, D(float(o)), D(float(h)), D(float(lo)), D(float(c)), int(v), step)


def run_portfolio(frames: dict[str, pd.DataFrame], cfg: PortfolioConfig,
                  progress: Progress | None = None) -> PortfolioResult:
    """Replay ``cfg.base.strategy`` over every frame of ``frames`` with one cash account;
    ``progress`` (optional) is told the timestamps done and in all about every 2%.

    Raises:
        ValueError: no frames or no bars; StrategyError / ConfigError from the strategy.
    """
    frames = {s: f for s, f in sorted(frames.items()) if len(f)}
    if not frames:
        raise ValueError("no bars to replay")
    base = cfg.base
    pct = cfg.position_pct or Decimal(100) / Decimal(max(cfg.max_positions, 1))
    costs = Costs(slippage_bps=base.slippage_bps, commission_percent=base.commission_rate * 100)
    sig = {s: strategy_signals(f, replace(base, symbol=s)) for s, f in frames.items()}
    vals = {s: f[["open", "high", "low", "close", "volume"]].to_numpy() for s, f in frames.items()}
    step = {s: ((f.index[1] - f.index[0]) if len(f) > 1 else pd.Timedelta(days=1))
            .to_pytimedelta() for s, f in frames.items()}
    # per symbol, position in its own frame for each timestamp of the union timeline
    timeline = pd.DatetimeIndex(sorted(set().union(*[set(f.index) for f in frames.values()])))
    where = {s: dict(zip(f.index, range(len(f)), strict=True)) for s, f in frames.items()}
    last_i = {s: len(f) - 1 for s, f in frames.items()}
    cash = base.cash
    pos = {s: Position(s) for s in frames}
    last_close: dict[str, Decimal] = {}
    want: dict[str, int] = {}
    fills: list[Fill] = []
    skipped: list[dict[str, Any]] = []
    points: list[tuple[Any, Decimal]] = []
    q = base.money_quantum

    def fill(sym: str, side: Side, qty: Decimal, bar: Bar) -> None:
        nonlocal cash
        d = evaluate(OrderState(side=side, type=OrderType.MARKET, remaining=qty,
                                fractionable=base.qty_step < 1), bar, costs)
        fee = commission(d.qty, d.price, costs, True, q)  # type: ignore[arg-type]
        eff = apply_fill(pos[sym], side, d.qty, d.price, q)  # type: ignore[arg-type]
        fills.append(Fill(bar.ts, sym, side.value, d.qty, d.price, fee,  # type: ignore[arg-type]
                          order_id=f"p{len(fills)}", strategy=base.strategy,
                          fill_id=f"f{len(fills)}", cash=eff.cash))
        cash = cash + eff.cash - fee
        pos[sym] = eff.position

    def equity_now() -> Decimal:
        return cash + sum((p.qty * last_close[s] for s, p in pos.items() if p.qty), ZERO)

    every = progress_every(len(timeline))
    for n, ts in enumerate(timeline):
        if progress is not None and n % every == 0:
            progress(n, len(timeline))
        here = [s for s in frames if ts in where[s]]
        bars = {s: _bar(ts, vals[s][where[s][ts]], step[s]) for s in here}
        # exits (and the closing half of reversals) first: they free cash for the entries
        for s in here:
            w = want.get(s, 0)
            p = pos[s].qty
            if w and p and (w == FLAT or (p > 0) != (w > 0)):
                fill(s, Side.SELL if p > 0 else Side.BUY, abs(p), bars[s])
        for s in here:
            w = want.pop(s, 0)
            if w in (0, FLAT) or pos[s].qty != 0 or (w < 0 and not base.allow_short):
                continue
            open_count = sum(1 for p in pos.values() if p.qty != 0)
            if open_count >= cfg.max_positions:
                skipped.append({"ts": ts, "symbol": s, "reason": "max_positions"})
                continue
            bar = bars[s]
            ref = bar.open
            equity = cash + sum((p.qty * (bars[k].open if k in bars else last_close[k])
                                 for k, p in pos.items() if p.qty), ZERO)
            gross = sum((abs(p.qty) * (bars[k].open if k in bars else last_close[k])
                         for k, p in pos.items() if p.qty), ZERO)
            budget = min(equity * pct / 100, equity - gross)
            per_unit = ref * (1 + base.commission_rate)
            qty = ((budget / per_unit) / base.qty_step).to_integral_value(rounding="ROUND_DOWN") \
                * base.qty_step if budget > 0 else ZERO
            if qty <= 0:
                skipped.append({"ts": ts, "symbol": s, "reason": "no_cash"})
                continue
            fill(s, Side.BUY if w > 0 else Side.SELL, qty, bar)
        for s in here:
            i = where[s][ts]
            last_close[s] = D(float(vals[s][i, 3]))
            code = int(sig[s][i])
            held = pos[s].qty
            h = 1 if held > 0 else -1 if held < 0 else 0
            if code != 0 and code != h and not (code == FLAT and h == 0) and i < last_i[s]:
                want[s] = code
        eq = equity_now()
        if eq <= 0:
            for s, p in pos.items():
                if p.qty:
                    c = last_close[s]
                    fill(s, Side.SELL if p.qty > 0 else Side.BUY, abs(p.qty),
                         Bar(ts, c, c, c, c, 0, step[s]))
            cash = ZERO
            points += [(t, ZERO) for t in timeline[timeline >= ts]]
            return PortfolioResult(fills, equity_series(points), cash, pos, skipped,
                                   {"reason": "equity reached zero", "ts": ts})
        points.append((ts, cents(eq)))
    if base.finalize_trades:
        end = timeline[-1]
        for s, p in pos.items():
            if p.qty:
                c = last_close[s]
                fill(s, Side.SELL if p.qty > 0 else Side.BUY, abs(p.qty),
                     Bar(end, c, c, c, c, 0, step[s]))
        points[-1] = (end, cents(cash))
    return PortfolioResult(fills, equity_series(points), cash, pos, skipped)
