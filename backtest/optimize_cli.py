"""``hybrid_manager.py optimize``: search a strategy's parameters over a file of bars.

Writes DIR/results.csv (every candidate and its figures), DIR/best.json, DIR/optimize.html
(the best run, a heatmap when two parameters are searched, the walk-forward table) and, with
``--walk-forward N``, DIR/walkforward.csv.  Prints the headline figures as JSON.
"""
from __future__ import annotations

import argparse
import json
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from shared.config import Settings


def add_optimize_parser(sub: Any) -> None:
    """Register ``optimize`` on the manager's subparsers."""
    from backtest.cli import add_run_args

    p = sub.add_parser("optimize", help="search a strategy's parameters (grid, random, "
                                        "walk-forward) over a CSV of bars")
    p.add_argument("--data", required=True, help="CSV of OHLCV bars")
    add_run_args(p)
    p.add_argument("--range", action="append", default=[], required=True,
                   metavar="NAME=START:STOP[:STEP] | NAME=V1,V2",
                   help="values of one parameter to search (repeat per parameter)")
    p.add_argument("--constraint", help="keep only combinations where this holds, e.g. "
                                        "'fast < slow'")
    p.add_argument("--maximize", default="sharpe", help="the reported figure to maximise "
                                                        "(sharpe, total_return, profit_factor...)")
    p.add_argument("--minimize", action="store_true", help="minimise it instead (max_drawdown)")
    p.add_argument("--method", choices=("grid", "random"), default="grid")
    p.add_argument("--samples", type=int, default=100, help="--method random: how many")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--walk-forward", type=int, default=0, metavar="N",
                   help="N rolling in-sample/out-of-sample windows")
    p.add_argument("--oos-fraction", type=float, default=0.25,
                   help="share of the bars the out-of-sample windows cover together")
    p.add_argument("--anchored", action="store_true",
                   help="walk-forward in-sample windows all start at the first bar")
    p.add_argument("--workers", type=int, default=0, help="processes (default: every core)")


def optimize(args: argparse.Namespace) -> dict[str, Any]:
    """Run the search of ``args``; write the files; return the headline figures."""
    from backtest.annualize import periods_per_year
    from backtest.cli import frame_and_config
    from backtest.optimize import (
        best,
        compile_constraint,
        grid,
        parse_range,
        random_sample,
        run_candidates,
        walk_forward,
    )
    from backtest.optimize_report import render_optimize_html

    t0 = time.perf_counter()
    frame, base = frame_and_config(args)
    space = dict(parse_range(r) for r in args.range)
    keep = compile_constraint(args.constraint, list(space))
    cands = (grid(space, keep) if args.method == "grid"
             else random_sample(space, keep, args.samples, args.seed))
    if not cands:
        from shared.errors import ValidationError
        raise ValidationError("no parameter combination satisfies the constraint",
                              field="constraint")
    ppy = periods_per_year(frame.index, args.tz)
    day_tz = args.tz if ppy in (252, 365) else "UTC"
    workers = args.workers or os.cpu_count() or 1
    maximize = not args.minimize
    results = run_candidates(frame, base, cands, ppy, day_tz, workers)
    top = best(results, args.maximize, maximize)
    params = {k: _plain(top[k]) for k in space}
    wf = None
    if args.walk_forward:
        wf = walk_forward(frame, base, cands, args.maximize, ppy, day_tz, args.walk_forward,
                          args.oos_fraction, args.anchored, maximize, workers)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    results.to_csv(out / "results.csv", index=False)
    summary: dict[str, Any] = {
        "candidates": len(cands), "metric": args.maximize,
        "goal": "maximize" if maximize else "minimize", "best_params": params,
        "best_value": _plain(top[args.maximize]), "best_total_return": _plain(
            top.get("total_return")), "best_trades": _plain(top.get("trades")),
        "periods_per_year": ppy, "workers": workers,
    }
    if wf is not None:
        wf.to_csv(out / "walkforward.csv", index=False)
        summary["walk_forward"] = {
            "windows": len(wf),
            f"mean_is_{args.maximize}": _mean(wf[f"is_{args.maximize}"]),
            f"mean_oos_{args.maximize}": _mean(wf[f"oos_{args.maximize}"]),
            "oos_total_return_compounded": _compound(wf["oos_total_return"]),
        }
    summary["seconds"] = round(time.perf_counter() - t0, 2)
    (out / "best.json").write_text(json.dumps(summary, indent=2, default=str))
    (out / "optimize.html").write_text(render_optimize_html(
        results, list(space), args.maximize, summary, wf,
        title=f"Optimise {base.symbol} {base.strategy}",
        config={"data": args.data, "strategy": base.strategy, "ranges": args.range,
                "constraint": args.constraint or "", "cash": str(base.cash),
                "commission": str(base.commission_rate), "sizing": args.sizing,
                "method": args.method}))
    summary["out"] = str(out)
    return summary


def _plain(v: Any) -> Any:
    import numpy as np

    return v.item() if isinstance(v, np.generic) else v


def _mean(col: Any) -> float | None:
    import pandas as pd

    vals = pd.to_numeric(col, errors="coerce").dropna()
    return float(vals.mean()) if len(vals) else None


def _compound(col: Any) -> float | None:
    import pandas as pd

    vals = pd.to_numeric(col, errors="coerce").dropna()
    return float((1 + vals).prod() - 1) if len(vals) else None


def cmd_optimize(settings: Settings, rd: Any, args: argparse.Namespace) -> int:
    """Run ``optimize``; print its figures as JSON; return the exit status."""
    from shared.errors import AppError

    try:
        result = optimize(args)
    except AppError as exc:
        print(f"optimize failed: {exc.message}", flush=True)
        return 1
    print(json.dumps(result, indent=2, default=str), flush=True)
    return 0
