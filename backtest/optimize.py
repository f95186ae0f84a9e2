"""Parameter search over the backtester: grid or random, constraints, walk-forward.

Every candidate is one ``run_replay`` of the same frame, scored with reporting's own
``compute_stats`` (so "maximise sharpe" means the report's Sharpe).  Candidates run in a
process pool, one frame per worker (sent once, by the pool's initializer).  Walk-forward
picks the best candidate on each in-sample window and reports what those parameters then did
on the following out-of-sample window, beside their in-sample figure: the number that tells
a quant whether the optimum was real or fitted noise.
"""
from __future__ import annotations

import ast
import itertools
import math
import os
import random
from collections.abc import Callable, Sequence
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, replace
from decimal import Decimal
from typing import Any

import numpy as np
import pandas as pd

from backtest.engine import ReplayConfig, run_replay
from shared.errors import ValidationError

Params = dict[str, Any]


def parse_range(text: str) -> tuple[str, list[Any]]:
    """Return ``(name, values)`` of ``name=a:b[:step]`` (inclusive) or ``name=v1,v2,...``.

    Raises:
        ValidationError: the text is neither form, or a range is empty.
    """
    name, sep, spec = text.partition("=")
    if not sep or not name.strip() or not spec.strip():
        raise ValidationError(f"--range must be NAME=START:STOP[:STEP] or NAME=V1,V2,..., "
                              f"was {text!r}", field="range")

    def num(v: str) -> Any:
        v = v.strip()
        try:
            return int(v)
        except ValueError:
            try:
                f = float(v)
            except ValueError:
                return v
            if not math.isfinite(f):
                raise ValidationError(f"--range {name}: {v} is not a finite number",
                                      field="range") from None
            return f

    if ":" in spec:
        parts = [num(p) for p in spec.split(":")]
        if len(parts) not in (2, 3) or not all(isinstance(p, int | float) for p in parts):
            raise ValidationError(f"--range {name}: START:STOP[:STEP] takes numbers, was "
                                  f"{spec!r}", field="range")
        start, stop = parts[0], parts[1]
        step = parts[2] if len(parts) == 3 else 1
        if step <= 0 or stop < start:
            raise ValidationError(f"--range {name}: needs START <= STOP and STEP > 0, was "
                                  f"{spec!r}", field="range")
        n = int(math.floor((stop - start) / step + 1e-9)) + 1
        values = [start + k * step for k in range(n)]
        if all(isinstance(p, int) for p in parts):
            values = [int(v) for v in values]
        else:
            values = [round(v, 10) for v in values]
    else:
        values = [num(p) for p in spec.split(",") if p.strip()]
    if not values:
        raise ValidationError(f"--range {name}: no values", field="range")
    return name.strip(), values


_ALLOWED = (ast.Expression, ast.Compare, ast.BoolOp, ast.BinOp, ast.UnaryOp, ast.Name,
            ast.Constant, ast.Load, ast.And, ast.Or, ast.Not, ast.Lt, ast.LtE, ast.Gt,
            ast.GtE, ast.Eq, ast.NotEq, ast.Add, ast.Sub, ast.Mult, ast.Div, ast.Mod,
            ast.USub, ast.FloorDiv)


def compile_constraint(text: str | None, names: Sequence[str]) -> Callable[[Params], bool]:
    """Return a predicate for ``text`` such as ``fast < slow`` or ``slow - fast >= 5``.

    Only comparisons and arithmetic over the parameter names are allowed (no calls, no
    attributes), so a constraint is data, not code.

    Raises:
        ValidationError: the expression uses anything else or an unknown name.
    """
    if not text:
        return lambda p: True
    try:
        tree = ast.parse(text, mode="eval")
    except SyntaxError as exc:
        raise ValidationError(f"--constraint {text!r}: {exc.msg}", field="constraint") from None
    for node in ast.walk(tree):
        if not isinstance(node, _ALLOWED):
            raise ValidationError(f"--constraint {text!r}: only comparisons and arithmetic of "
                                  f"the parameters are allowed ({type(node).__name__} is not)",
                                  field="constraint")
        if isinstance(node, ast.Name) and node.id not in names:
            raise ValidationError(f"--constraint {text!r}: {node.id!r} is not a parameter "
                                  f"being searched ({', '.join(names)})", field="constraint")
    code = compile(tree, "<constraint>", "eval")
    return lambda p: bool(eval(code, {"__builtins__": {}}, dict(p)))  # noqa: S307 - checked AST


def grid(space: dict[str, list[Any]], keep: Callable[[Params], bool]) -> list[Params]:
    """Return every combination of ``space`` that ``keep`` accepts, in a stable order."""
    names = list(space)
    combos = (dict(zip(names, vals, strict=True)) for vals in itertools.product(*space.values()))
    return [p for p in combos if keep(p)]


def random_sample(space: dict[str, list[Any]], keep: Callable[[Params], bool], n: int,
                  seed: int = 0) -> list[Params]:
    """Return up to ``n`` distinct combinations drawn at random (seeded) among those kept."""
    every = grid(space, keep)
    rng = random.Random(seed)
    return every if n >= len(every) else rng.sample(every, n)


@dataclass(frozen=True)
class Window:
    """One walk-forward step: in-sample bars [is_start, oos_start), out-of-sample to oos_end."""

    is_start: pd.Timestamp
    oos_start: pd.Timestamp
    oos_end: pd.Timestamp


def windows(index: pd.DatetimeIndex, n: int, oos_fraction: float = 0.25,
            anchored: bool = False) -> list[Window]:
    """Return ``n`` rolling (or anchored) windows whose out-of-sample parts tile the end.

    Raises:
        ValidationError: too few bars for ``n`` windows.
    """
    total = len(index)
    if n < 1 or not 0 < oos_fraction < 1:
        raise ValidationError("--walk-forward needs N >= 1 and 0 < --oos-fraction < 1",
                              field="walk_forward")
    is_len = int(total * (1 - oos_fraction))
    oos_len = (total - is_len) // n
    if oos_len < 2 or is_len < 10:
        raise ValidationError(f"{total} bars are too few for {n} walk-forward windows",
                              field="walk_forward")
    out = []
    for k in range(n):
        a = is_len + k * oos_len
        b = total - 1 if k == n - 1 else a + oos_len - 1
        start = 0 if anchored else k * oos_len
        out.append(Window(index[start], index[a], index[b]))
    return out


# --- the work one process does -------------------------------------------------------------

_FRAME: pd.DataFrame | None = None


def _init(frame: pd.DataFrame) -> None:
    global _FRAME
    _FRAME = frame


def score(frame: pd.DataFrame, cfg: ReplayConfig, periods_per_year: int,
          tz: str) -> dict[str, Any]:
    """Return the report's figures of one run (reporting's ``compute_stats``)."""
    from shared.analytics import build_round_trips, compute_stats

    res = run_replay(frame, cfg)
    trips = build_round_trips(res.fills)
    stats = compute_stats(trips, res.equity, periods_per_year=periods_per_year, tz=tz)
    out = {k: v for k, v in stats.items() if isinstance(v, int | float | Decimal) and
           not isinstance(v, bool)}
    out["stopped"] = res.stopped is not None
    return {k: (float(v) if isinstance(v, Decimal) else v) for k, v in out.items()}


def _task(args: tuple[ReplayConfig, int, str, Any, Any]) -> dict[str, Any]:
    cfg, ppy, tz, start, end = args
    assert _FRAME is not None
    frame = _FRAME if start is None else _FRAME.loc[start:end]
    try:
        return score(frame, cfg, ppy, tz)
    except Exception as exc:  # noqa: BLE001 - one bad candidate must not end the search
        return {"error": f"{type(exc).__name__}: {exc}"}


def run_candidates(frame: pd.DataFrame, base: ReplayConfig, candidates: Sequence[Params],
                   periods_per_year: int, tz: str, workers: int | None = None,
                   span: tuple[Any, Any] = (None, None), trade_from: Any = None,
                   chunks: int = 4) -> pd.DataFrame:
    """Return one row per candidate: its parameters and its figures (same order)."""
    cfgs = [replace(base, params={**base.params, **p}, trade_from=trade_from)
            for p in candidates]
    tasks = [(c, periods_per_year, tz, *span) for c in cfgs]
    workers = workers or os.cpu_count() or 1
    if workers == 1 or len(tasks) < 4:
        _init(frame)
        rows = [_task(t) for t in tasks]
    else:
        size = max(1, len(tasks) // (workers * chunks))
        with ProcessPoolExecutor(workers, initializer=_init, initargs=(frame,)) as pool:
            rows = list(pool.map(_task, tasks, chunksize=size))
    return pd.DataFrame([{**p, **r} for p, r in zip(candidates, rows, strict=True)])


def best(results: pd.DataFrame, metric: str, maximize: bool = True) -> pd.Series:
    """Return the best row by ``metric`` (ties: the first in candidate order).

    Raises:
        ValidationError: no candidate has a value for ``metric``.
    """
    if metric not in results.columns:
        raise ValidationError(f"--maximize {metric!r} is not a reported figure; one of: "
                              f"{', '.join(sorted(c for c in results.columns if c != 'error'))}",
                              field="maximize")
    vals = pd.to_numeric(results[metric], errors="coerce")
    if vals.notna().sum() == 0:
        raise ValidationError(f"no candidate has a value for {metric} (not enough data?)",
                              field="maximize")
    arr = vals.to_numpy(dtype=float)
    arr = np.where(np.isnan(arr), -np.inf if maximize else np.inf, arr)
    return results.iloc[int(np.argmax(arr) if maximize else np.argmin(arr))]


def walk_forward(frame: pd.DataFrame, base: ReplayConfig, candidates: Sequence[Params],
                 metric: str, periods_per_year: int, tz: str, n: int,
                 oos_fraction: float = 0.25, anchored: bool = False, maximize: bool = True,
                 workers: int | None = None) -> pd.DataFrame:
    """Return one row per window: its dates, the in-sample best parameters and figure, and
    the out-of-sample figure of those parameters (indicators warmed on the bars before)."""
    names = list(candidates[0]) if candidates else []
    rows = []
    for w in windows(frame.index, n, oos_fraction, anchored):
        before = frame.index[frame.index.searchsorted(w.oos_start) - 1]
        ins = run_candidates(frame, base, candidates, periods_per_year, tz, workers,
                             span=(w.is_start, before))
        top = best(ins, metric, maximize)
        params = {k: _plain(top[k]) for k in names}
        oos = run_candidates(frame, base, [params], periods_per_year, tz, 1,
                             span=(w.is_start, w.oos_end), trade_from=w.oos_start)
        rows.append({"is_start": w.is_start, "oos_start": w.oos_start, "oos_end": w.oos_end,
                     **params, f"is_{metric}": top[metric],
                     f"oos_{metric}": oos.iloc[0].get(metric),
                     "oos_total_return": oos.iloc[0].get("total_return"),
                     "oos_trades": oos.iloc[0].get("trades")})
    return pd.DataFrame(rows)


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v
