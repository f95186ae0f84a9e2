"""Two backtest runs side by side: what their configurations differ in, their key figures,
and both equity curves (thinned to at most ``MAX_POINTS`` points each)."""
from __future__ import annotations

import csv
from datetime import datetime
from pathlib import Path
from typing import Any

from dashboard.backtest_runs import RunStore
from shared.errors import Conflict

MAX_POINTS = 1000
#: (key, label) of the figures compared, in the table's order
STATS = (("end_equity", "Final equity"), ("pnl", "Net P&L"), ("total_return", "Total return"),
         ("annualized_return", "Annual return"), ("sharpe", "Sharpe"),
         ("sortino", "Sortino"), ("max_drawdown", "Max drawdown"), ("trades", "Trades"),
         ("win_rate", "Win rate"), ("profit_factor", "Profit factor"),
         ("exposure", "Time in market"), ("fees", "Fees"))
_HIDDEN = {"strategy"}  # the id; strategy_label says it in words


def flatten(config: dict[str, Any], prefix: str = "") -> dict[str, Any]:
    """Return ``config`` as ``{"a.b": value}``."""
    out: dict[str, Any] = {}
    for k, v in config.items():
        if isinstance(v, dict):
            out |= flatten(v, f"{prefix}{k}.")
        elif f"{prefix}{k}" not in _HIDDEN:
            out[f"{prefix}{k}"] = v
    return out


def config_diff(a: dict[str, Any], b: dict[str, Any]) -> list[dict[str, Any]]:
    """Return ``[{key, a, b}]`` for each setting that differs (missing shows as None)."""
    fa, fb = flatten(a), flatten(b)
    return [{"key": k, "a": fa.get(k), "b": fb.get(k)} for k in sorted(fa.keys() | fb.keys())
            if fa.get(k) != fb.get(k)]


def equity_points(path: Path, limit: int = MAX_POINTS) -> list[list[Any]]:
    """Return ``[[unix seconds, equity as text], ...]`` of an equity.csv, every n-th row (and
    the last) so at most ``limit`` points."""
    with open(path, newline="") as fh:
        rows = [(r["ts"], r["equity"]) for r in csv.DictReader(fh)]
    step = max(1, -(-len(rows) // limit))
    picked = rows[::step]
    if rows and picked[-1] != rows[-1]:
        picked.append(rows[-1])
    return [[int(datetime.fromisoformat(ts).timestamp()), eq] for ts, eq in picked]


def compare(store: RunStore, a: str, b: str) -> dict[str, Any]:
    """Return two finished runs' differences, figures and equity curves.

    Raises:
        Conflict: a run has not finished well (it has no report to compare).
    """
    import json

    runs = []
    for rid in (a, b):
        meta = store.read(rid)
        if meta["state"] != "done":
            raise Conflict(f"run {rid} is {meta['state']}: only finished runs can be compared",
                           field="a" if rid == a else "b")
        stats = json.loads(store.file(rid, "report.json").read_text()).get("stats", {})
        runs.append({"id": rid, "created": meta["created"], "config": meta["config"],
                     "stats": stats,
                     "equity": equity_points(store.file(rid, "equity.csv"))})
    return {"a": {k: runs[0][k] for k in ("id", "created", "config", "equity")},
            "b": {k: runs[1][k] for k in ("id", "created", "config", "equity")},
            "differences": config_diff(runs[0]["config"], runs[1]["config"]),
            "stats": [{"key": k, "label": label, "a": runs[0]["stats"].get(k),
                       "b": runs[1]["stats"].get(k)} for k, label in STATS]}
