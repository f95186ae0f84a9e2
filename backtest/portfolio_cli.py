"""``replay`` over many symbols: a folder of files, a file's every symbol, or the built-in
market's universe for a date range; one account; portfolio and per-symbol figures."""
from __future__ import annotations

import argparse
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # imported where used: the manager's parser loads this module on every start
    import pandas as pd


def wants_portfolio(args: argparse.Namespace) -> bool:
    """Return True when the replay is over many symbols."""
    return bool(getattr(args, "market", None) or getattr(args, "portfolio", False)
                or (args.data and Path(args.data).is_dir()))


def per_symbol(trips: list[Any]) -> pd.DataFrame:
    """Return one row per symbol: trades, wins, net P&L, fees, best and worst trade."""
    import pandas as pd

    rows: dict[str, dict[str, Any]] = {}
    for t in trips:
        r = rows.setdefault(t.symbol, {"symbol": t.symbol, "trades": 0, "wins": 0,
                                       "net_pnl": Decimal(0), "fees": Decimal(0),
                                       "best": None, "worst": None})
        if t.exit_time is None:
            continue
        r["trades"] += 1
        r["wins"] += int(t.net_pnl > 0)
        r["net_pnl"] += t.net_pnl
        r["fees"] += t.fees
        r["best"] = t.net_pnl if r["best"] is None else max(r["best"], t.net_pnl)
        r["worst"] = t.net_pnl if r["worst"] is None else min(r["worst"], t.net_pnl)
    out = pd.DataFrame(list(rows.values()))
    if len(out):
        out["win_rate"] = [w / n if n else None for w, n in zip(out["wins"], out["trades"],
                                                                 strict=True)]
    return out


def replay_portfolio(args: argparse.Namespace) -> dict[str, Any]:
    """Run the portfolio replay of ``args``; write its files; return the headline figures."""
    import pandas as pd

    from backtest.annualize import periods_per_year
    from backtest.cli import _params, _sizing, progress_printer
    from backtest.data import LoadOptions, load_many, market_bars
    from backtest.engine import ReplayConfig
    from backtest.portfolio import PortfolioConfig, run_portfolio
    from shared.analytics import ReportOptions, build_report, export_files

    symbols = [s.strip().upper() for s in args.symbols.split(",")] if args.symbols else None
    if args.market:
        start, _, end = args.market.partition(":")
        frames = market_bars(start, end or start, args.timeframe_bars, args.universe, symbols)
        tz = "America/New_York"
    else:
        frames = load_many(args.data, LoadOptions(tz=args.tz, dedupe=args.dedupe,
                                                  drop_missing=args.drop_missing), symbols)
        tz = args.tz
    base = ReplayConfig(symbol="PORTFOLIO", strategy=args.strategy, params=_params(args.param),
                        cash=args.cash, commission_rate=args.commission,
                        slippage_bps=args.slippage_bps, sizing=_sizing(args.sizing),
                        allow_short=not args.no_short, qty_step=args.qty_step,
                        money_quantum=args.money_quantum, finalize_trades=args.finalize_trades)
    cfg = PortfolioConfig(base, max_positions=args.max_positions,
                          position_pct=args.position_pct)
    show = progress_printer(args)
    res = run_portfolio(frames, cfg, show)
    index = pd.DatetimeIndex(sorted(set().union(*[set(f.index) for f in frames.values()])))
    if show is not None:
        show(len(index), len(index))
    ppy = periods_per_year(index, tz)
    step = min(((f.index[1] - f.index[0]) for f in frames.values() if len(f) > 1),
               default=pd.Timedelta(days=1))
    rep = build_report(res.fills, res.equity, bars=frames, bar_duration=step.to_pytimedelta(),
                       options=ReportOptions(periods_per_year=ppy,
                                             tz=tz if ppy in (252, 365) else "UTC"))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    title = f"Portfolio of {len(frames)} symbols, {args.strategy}"
    for name, text in export_files(rep, title=title, generated_at=stamp,
                                   periods_per_year=ppy).items():
        (out / name).write_text(text)
    table = per_symbol(list(rep.trades))
    table.to_csv(out / "per_symbol.csv", index=False)
    return {"symbols": len(frames), "bars": int(sum(len(f) for f in frames.values())),
            "fills": len(res.fills), "trades": len(rep.trades),
            "final_equity": str(res.equity.iloc[-1]), "skipped_entries": len(res.skipped),
            "max_positions": cfg.max_positions, "stopped": res.stopped,
            "periods_per_year": ppy, "annualized_return": rep.stats.get("annualized_return"),
            "sharpe": rep.stats.get("sharpe"), "max_drawdown": rep.stats.get("max_drawdown"),
            "out": str(out)}


def add_portfolio_args(p: Any) -> None:
    """Options of a many-symbol replay (``replay --portfolio`` / a folder / ``--market``)."""
    p.add_argument("--portfolio", action="store_true",
                   help="replay every symbol of --data (a folder of files, or a file with a "
                        "symbol column) in one account")
    p.add_argument("--symbols", help="comma-separated symbols to take (default: all)")
    p.add_argument("--max-positions", type=int, default=5,
                   help="at most this many open positions at once (portfolio)")
    p.add_argument("--position-pct", type=Decimal, default=None,
                   help="percent of equity per entry (default 100 / --max-positions)")
    p.add_argument("--bars", dest="timeframe_bars", default="1d",
                   help="--market: bar size (1m, 5m, 15m, 1h, 1d)")


