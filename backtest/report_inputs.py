"""What a replay tells its HTML report: the run's configuration, the crossover's indicator
lines for the price chart, and the zone its times are shown in."""
from __future__ import annotations

import argparse
from typing import Any

import numpy as np
import pandas as pd

from backtest.annualize import round_the_clock
from backtest.engine import CROSSINGS, ReplayConfig, ReplayResult

_PERIODS = {252: "252 (exchange sessions a year)", 365: "365 (a market open every day)",
            52: "52 (weekly bars)", 12: "12 (monthly bars)"}


def display_tz(frame: pd.DataFrame, file_tz: str) -> str:
    """Return the zone the report shows times in: UTC for a market open around the clock,
    else the file's exchange zone (New York for US equities)."""
    return "UTC" if round_the_clock(frame.index, file_tz) else file_tz


def strategy_params(cfg: ReplayConfig) -> dict[str, Any]:
    """Return the strategy's parameters with the defaults it ran with (a built-in's
    validated parameters; a user class's declared ``params`` merged with the given ones)."""
    from shared.strategy import is_file_ref, load_strategy

    if is_file_ref(cfg.strategy):
        return {**dict(load_strategy(cfg.strategy).params), **cfg.params}
    from shared.ta import Strategy

    return Strategy(cfg.strategy, cfg.strategy, cfg.params).params.model_dump()


def indicator_lines(frame: pd.DataFrame, cfg: ReplayConfig) -> dict[str, np.ndarray]:
    """Return the two moving averages of a built-in ``sma_cross``/``ema_cross`` (causal
    TA-Lib values per bar, named like 'SMA(10)'); nothing for other strategies."""
    if cfg.strategy not in ("sma_cross", "ema_cross"):
        return {}
    from shared.ta import Strategy

    strat = Strategy(cfg.strategy, cfg.strategy, cfg.params)
    data = {k: frame[k].to_numpy(dtype="float64") for k in ("open", "high", "low", "close",
                                                             "volume")}
    out = {}
    for role, output in CROSSINGS[cfg.strategy]:
        spec = strat.specs[role]
        period = getattr(strat.params, role)
        out[f"{spec.name}({period})"] = spec.compute(data)[output]
    return out


def run_config(args: argparse.Namespace, cfg: ReplayConfig, frame: pd.DataFrame,
               res: ReplayResult, ppy: int, tz: str) -> dict[str, Any]:
    """Return the run's configuration as the report shows it (label -> value; times of
    the stop in ``tz``)."""
    from shared.analytics.html_report import is_daily
    from shared.analytics.report_text import local_time

    stop_at = local_time(res.stopped["ts"], tz, is_daily(frame)) if res.stopped else ""
    stopped = (f"yes: {res.stopped['reason']} at {stop_at} ({tz})" if res.stopped
               else "no: ran to the last bar")
    return {
        "Data file": str(args.data),
        "Symbol": cfg.symbol,
        "Bars": len(frame),
        "First bar": frame.index[0],
        "Last bar": frame.index[-1],
        "Timeframe": args.timeframe,
        "File time zone": args.tz,
        "Strategy": cfg.strategy,
        "Parameters": strategy_params(cfg),
        "Cash": f"{cfg.cash:,.2f}",
        "Commission": f"{(cfg.commission_rate * 100).normalize():f}% of notional",
        "Slippage": f"{cfg.slippage_bps.normalize():f} bps",
        "Sizing": args.sizing,
        "Short selling": cfg.allow_short,
        "Quantity step": cfg.qty_step,
        "Money rounded to": cfg.money_quantum if cfg.money_quantum is not None else "exact",
        "Finalize open trade at the end": cfg.finalize_trades,
        "Periods per year (annualising)": _PERIODS.get(ppy, str(ppy)),
        "Stopped early (equity reached zero)": stopped,
    }
