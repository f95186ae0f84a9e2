"""``hybrid_manager.py replay``: replay a CSV of bars, or a session of the built-in market.

``--data FILE --symbol S`` runs ``backtest.engine`` in this process (the suite's strategy,
sizing, risk, fill and report code, no services); ``--session DATE --universe N`` drives the
whole running suite through one session, one clock step per cycle, and writes the reporting
service's exports.  Both write DIR/trades.csv, equity.csv, report.json and report.html.
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # settings are loaded only for --session: a file replay starts without them
    from shared.config import Settings

ROOT = Path(__file__).resolve().parent.parent


def register(sub: Any) -> dict[str, Any]:
    """Add the backtester's commands (replay, optimize) to the manager's subparsers; return
    ``{command: handler(settings, run_dir, args) -> exit status}``."""
    from backtest.optimize_cli import add_optimize_parser, cmd_optimize

    add_parser(sub)
    add_optimize_parser(sub)
    return {"replay": cmd_replay, "optimize": cmd_optimize}


def add_run_args(p: Any) -> None:
    """Add the options every backtest run takes: strategy, costs, sizing and file reading."""
    p.add_argument("--symbol", help="symbol of the CSV's bars (or its rows, with a symbol column)")
    p.add_argument("--timeframe", default="1Day", help="bar size of the CSV (informational)")
    p.add_argument("--strategy", default="sma_cross")
    p.add_argument("--param", action="append", default=[], metavar="KEY=VALUE")
    p.add_argument("--cash", type=Decimal, default=Decimal(10000))
    p.add_argument("--commission", type=Decimal, default=Decimal(0),
                   help="fraction of each fill's notional (0.002 = 0.2%%)")
    p.add_argument("--slippage-bps", type=Decimal, default=Decimal(0))
    p.add_argument("--sizing", default="all_in",
                   help="all_in | fixed:DOLLARS | percent:PCT (of equity)")
    p.add_argument("--no-short", action="store_true", help="never sell short")
    p.add_argument("--finalize-trades", action="store_true",
                   help="close a trade still open at the end, at the last bar's close")
    p.add_argument("--qty-step", type=Decimal, default=Decimal(1),
                   help="quantity increment: 1 share (default), 0.0001 for a coin, 1000 for FX lots")
    p.add_argument("--money-quantum", type=Decimal, default=None,
                   help="round cash and fees per fill to this (0.01 books like a broker); "
                        "default exact")
    p.add_argument("--tz", default="America/New_York",
                   help="time zone of the file's naive times (UTC for most crypto and FX files)")
    p.add_argument("--dedupe", action="store_true",
                   help="keep the last row of a time that appears more than once")
    p.add_argument("--drop-missing", action="store_true",
                   help="leave out rows with a missing or non-positive price")
    p.add_argument("--out", required=True, help="output directory")


def add_parser(sub: Any) -> None:
    """Register the ``replay`` subcommand on the manager's subparsers."""
    p = sub.add_parser("replay", help="replay a CSV of bars, or a session through the suite")
    src = p.add_mutually_exclusive_group(required=True)
    src.add_argument("--data", help="CSV of OHLCV bars (date/time, open, high, low, close, volume)")
    src.add_argument("--session", help="a session date of the built-in market (YYYY-MM-DD)")
    src.add_argument("--market", metavar="START:END",
                     help="the built-in market's universe over these dates, in-process (a "
                          "portfolio; --universe N symbols, --bars 1d)")
    add_run_args(p)
    p.add_argument("--progress", action="store_true",
                   help='print {"bars_done": N, "bars_total": M} lines (JSON) every ~2%% of bars')
    from backtest.portfolio_cli import add_portfolio_args

    add_portfolio_args(p)
    p.add_argument("--universe", type=int, default=20,
                   help="--session / --market: first N symbols")


def _params(items: list[str]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for it in items:
        if "=" not in it:
            raise SystemExit(f"--param must be KEY=VALUE, was {it!r}")
        k, v = it.split("=", 1)
        try:
            out[k] = json.loads(v)
        except ValueError:
            out[k] = v
    return out


def _sizing(text: str) -> Any:
    from shared.config_sections.coordination import Sizing

    kind, _, val = text.partition(":")
    if kind == "all_in":
        return Sizing(method="all_in")
    if kind == "fixed" and val:
        return Sizing(method="fixed", fixed_dollars=float(val), max_position_pct=400)
    if kind == "percent" and val:
        return Sizing(method="percent", equity_pct=float(val), max_position_pct=400)
    raise SystemExit(f"--sizing must be all_in, fixed:DOLLARS or percent:PCT, was {text!r}")


def frame_and_config(args: argparse.Namespace) -> tuple[Any, Any]:
    """Return the checked bars of ``args.data`` and the run's ``ReplayConfig``."""
    from backtest.data import LoadOptions, load_bars
    from backtest.engine import ReplayConfig

    if args.qty_step <= 0:
        raise SystemExit(f"--qty-step must be above 0, was {args.qty_step}")
    frame = load_bars(args.data, LoadOptions(symbol=args.symbol, tz=args.tz, dedupe=args.dedupe,
                                             drop_missing=args.drop_missing))
    cfg = ReplayConfig(symbol=args.symbol or Path(args.data).stem.upper(),
                       strategy=args.strategy, params=_params(args.param), cash=args.cash,
                       commission_rate=args.commission, slippage_bps=args.slippage_bps,
                       sizing=_sizing(args.sizing), allow_short=not args.no_short,
                       qty_step=args.qty_step, money_quantum=args.money_quantum,
                       finalize_trades=args.finalize_trades)
    return frame, cfg


def progress_printer(args: argparse.Namespace) -> Any:
    """Return a progress callback printing one JSON line per call when ``--progress`` was
    given, else None."""
    if not getattr(args, "progress", False):
        return None

    def show(done: int, total: int) -> None:
        print(json.dumps({"bars_done": done, "bars_total": total}), flush=True)

    return show


def replay_csv(args: argparse.Namespace) -> dict[str, Any]:
    """Replay ``args.data``; write the four files; return the headline figures."""
    from datetime import UTC, datetime

    import pandas as pd

    from backtest.annualize import periods_per_year
    from backtest.engine import run_replay
    from backtest.report_inputs import display_tz, indicator_lines, run_config
    from shared.analytics import ReportOptions, build_report, export_files

    frame, cfg = frame_and_config(args)
    show = progress_printer(args)
    res = run_replay(frame, cfg, show)
    if show is not None:
        show(len(frame), len(frame))
    ppy = periods_per_year(frame.index, args.tz)
    step = (frame.index[1] - frame.index[0]) if len(frame) > 1 else pd.Timedelta(days=1)
    # the zone the report shows times in: the file's, or UTC for a market open round the clock
    tz = display_tz(frame, args.tz)
    # one return per day for daily and intraday bars (days of that zone), else per bar
    day_tz = tz if ppy in (252, 365) else "UTC"
    rep = build_report(res.fills, res.equity, bars={cfg.symbol: frame},
                       bar_duration=step.to_pytimedelta(),
                       options=ReportOptions(periods_per_year=ppy, tz=day_tz))
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
    for name, text in export_files(rep, title=f"Replay {cfg.symbol} {cfg.strategy}",
                                   generated_at=stamp, periods_per_year=ppy,
                                   config=run_config(args, cfg, frame, res, ppy, tz),
                                   bars=frame, indicators=indicator_lines(frame, cfg),
                                   tz=tz).items():
        (out / name).write_text(text)
    return {"bars": len(frame), "fills": len(res.fills), "trades": len(rep.trades),
            "final_equity": str(res.equity.iloc[-1]), "rejections": len(res.rejections),
            "stopped": res.stopped, "periods_per_year": ppy,
            "annualized_return": rep.stats.get("annualized_return"),
            "sharpe": rep.stats.get("sharpe"),
            "out": str(out)}


class _Suite:
    """A running suite at the settings' ports; starts one (and stops it after) if none runs."""

    def __init__(self, settings: Settings) -> None:
        from shared.http import ServiceClient

        self.settings = settings
        self.started = False
        self.coord = ServiceClient.for_service("coordination", settings, timeout=300, retries=0)
        self.broker = ServiceClient.for_service("paper_trading", settings, timeout=60)
        self.report = ServiceClient.for_service("reporting", settings, timeout=120)

    def __enter__(self) -> _Suite:
        try:
            self.coord.get("/health", timeout=2)
        except Exception:
            cmd = [sys.executable, str(ROOT / "hybrid_manager.py")]
            subprocess.run([*cmd, "migrate"], check=True, cwd=ROOT, env=os.environ.copy())
            subprocess.run([*cmd, "start", "--detach"], check=True, cwd=ROOT,
                           env=os.environ.copy())
            self.started = True
        return self

    def __exit__(self, *exc: Any) -> None:
        if self.started:
            subprocess.run([sys.executable, str(ROOT / "hybrid_manager.py"), "stop"],
                           cwd=ROOT, env=os.environ.copy(), check=False)


def _refuse_rewind(settings: Settings, now: str, session: str) -> None:
    """Raise Conflict when the suite's clock already passed ``session``'s open.

    Moving the clock back would replay against services that hold later bars in their caches
    (look-ahead) and a paper account whose fills were already evaluated past that time.
    """
    import pandas as pd

    from shared.errors import Conflict
    from shared.market.calendar import get_calendar
    from shared.market.clock import replay_bounds

    start, _ = replay_bounds(get_calendar(settings.market.calendar), session, session)
    if pd.Timestamp(now) > start:
        raise Conflict(f"the suite's clock ({now}) is already past {session}'s open; replay "
                       "a later session, or start the suite on a fresh DATABASE_PATH",
                       field="session")


def _await_history(coord: Any, limit_s: float = 600.0) -> None:
    """Wait until the market feed has stored the whole history behind the session's open.

    A replay reads what the owner stored: cycles run while it still backfilled would see
    windows that depend on how far it had come, and the same seed could trade differently.

    Raises:
        ServiceUnavailable: the history was not stored within ``limit_s``.
    """
    from shared.errors import ServiceUnavailable

    deadline = time.monotonic() + limit_s
    while coord.get("/api/v1/market/feed")["backfill"] != "done":
        if time.monotonic() > deadline:
            raise ServiceUnavailable(f"the market feed did not store the history in {limit_s:g}s")
        time.sleep(0.2)


def replay_session(settings: Settings, args: argparse.Namespace) -> dict[str, Any]:
    """Drive the suite through session ``args.session``; write the reporting exports."""
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    from shared.errors import Conflict

    t0 = time.perf_counter()
    with _Suite(settings) as suite:
        c = suite.coord
        # the loop must not drive the clock beside us: stopping waits for its acknowledgement
        auto = c.post("/api/v1/automation", json={"state": "stopped"})
        if not auto.get("acknowledged", True):
            raise Conflict("the automation's cycle did not stop; try again", field="automation")
        _refuse_rewind(settings, c.get("/api/v1/clock")["now"], args.session)
        c.patch("/api/v1/clock", json={"pace": "step", "replay_start": args.session,
                                       "replay_end": args.session,
                                       "step_minutes": auto["step_minutes"]})
        c.patch("/api/v1/strategy", json={"universe_limit": args.universe,
                                          "max_candidates": min(args.universe, 10)})
        t_wait = time.perf_counter()
        _await_history(c)
        waited = time.perf_counter() - t_wait
        t0 += waited  # the replay's own time: the history is the market's, stored once
        suite.broker.post("/api/v1/account/reset", json={})
        runs, degraded, advance = [], 0, 0
        while True:
            run = c.post("/api/v1/cycle", json={"advance_steps": advance, "claim_step": True})
            runs.append(run)
            degraded += run["status"] != "ok"
            advance = 1
            clock = c.get("/api/v1/clock")
            if clock["now"] >= clock["replay_end"]:
                break
        # one last step past the close lets the flatten orders fill before the report
        suite.broker.post("/api/v1/clock/sync", json={})
        files = {"trades.csv": ("csv", "trades"), "equity.csv": ("csv", "equity"),
                 "report.json": ("json", "trades"), "report.html": ("html", "trades")}
        for name, (fmt, what) in files.items():
            r = suite.report.request_raw("GET", "/api/v1/report/export",
                                         params={"format": fmt, "what": what})
            (out / name).write_bytes(r.content)
        summary = suite.report.get("/api/v1/report/summary")
    return {"session": args.session, "cycles": len(runs), "degraded_cycles": degraded,
            "pnl": summary.get("pnl"), "ledger_cash_flow": summary.get("ledger_cash_flow"),
            "trades": summary.get("trades"), "seconds": round(time.perf_counter() - t0, 2),
            "history_wait_seconds": round(waited, 2),
            "out": str(out)}


def cmd_replay(settings: Settings, rd: Any, args: argparse.Namespace) -> int:
    """Run ``replay``; print its figures as JSON; return the exit status."""
    from shared.errors import AppError

    try:
        from backtest.portfolio_cli import replay_portfolio, wants_portfolio

        if wants_portfolio(args):
            result = replay_portfolio(args)
        elif args.data:
            result = replay_csv(args)
        else:
            result = replay_session(settings, args)
    except AppError as exc:
        print(f"replay failed: {exc.message}", flush=True)
        return 1
    print(json.dumps(result, indent=2, default=str), flush=True)
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run ``replay`` or ``optimize`` alone (``hybrid_manager.py`` hands them here): the
    supervisor's, web and HTTP modules are not imported, so a backtest starts fast."""
    p = argparse.ArgumentParser(prog="hybrid_manager.py",
                                description="Backtest: replay or optimize a strategy.")
    sub = p.add_subparsers(dest="command", required=True)
    handlers = register(sub)
    args = p.parse_args(argv)
    settings = None
    if getattr(args, "session", None):
        from shared.config import load_settings

        settings = load_settings()
    return int(handlers[args.command](settings, None, args))
