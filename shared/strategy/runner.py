"""Load a user's strategy from its file and run it: over history (replay) or on the last
closed bar (the live suite).  Both drive the same class the same way: ``init`` once over the
bars so far, then ``next`` with the cursor on each closed bar."""
from __future__ import annotations

import hashlib
import importlib.util
import sys
import traceback
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shared.strategy.api import Decision, Strategy, StrategyError

FLAT = 2  # the signal code of a Decision to close (1 long, -1 short, 0 no change)


def parse_ref(ref: str) -> tuple[Path, str | None]:
    """Return ``(file, class name or None)`` of ``path/to/file.py[:ClassName]``."""
    path, _, name = ref.partition(":") if not ref.endswith(".py") else (ref, "", "")
    return Path(path).expanduser(), (name or None)


def is_file_ref(ref: str) -> bool:
    """Return True when ``ref`` names a strategy file rather than a built-in kind."""
    return ref.partition(":")[0].endswith(".py")


def load_strategy(ref: str) -> type[Strategy]:
    """Return the Strategy class ``ref`` names (``file.py:Class``, or the file's only one).

    Raises:
        StrategyError: the file is missing, does not import (with its line), or has no such
            Strategy class.
    """
    path, name = parse_ref(ref)
    if not path.is_file():
        raise StrategyError(f"strategy file {path} does not exist", field="strategy")
    key = "user_strategy_" + hashlib.sha1(str(path.resolve()).encode()).hexdigest()[:12]
    spec = importlib.util.spec_from_file_location(key, path)
    if spec is None or spec.loader is None:
        raise StrategyError(f"{path}: cannot be loaded as Python", field="strategy")
    module = importlib.util.module_from_spec(spec)
    try:
        sys.modules[key] = module
        spec.loader.exec_module(module)
    except SyntaxError as exc:
        sys.modules.pop(key, None)
        raise StrategyError(f"{path} line {exc.lineno}: {exc.msg}", field="strategy") from None
    except Exception as exc:  # noqa: BLE001 - a user's module may raise anything on import
        sys.modules.pop(key, None)
        raise StrategyError(where_failed(exc, path, "importing it"), field="strategy") from None
    found = {n: c for n, c in vars(module).items()
             if isinstance(c, type) and issubclass(c, Strategy) and c is not Strategy
             and c.__module__ == key}
    if name is None:
        if len(found) != 1:
            raise StrategyError(f"{path} defines {len(found)} Strategy classes "
                                f"({', '.join(sorted(found)) or 'none'}); name one: "
                                f"{path}:ClassName", field="strategy")
        return next(iter(found.values()))
    if name not in found:
        raise StrategyError(f"{path} has no Strategy class {name!r}; it has "
                            f"{', '.join(sorted(found)) or 'none'}", field="strategy")
    return found[name]


def where_failed(exc: BaseException, path: Path | str | None, doing: str) -> str:
    """Return "file line N in func: Type: message" of the deepest frame in the user's file."""
    frames = traceback.extract_tb(exc.__traceback__)
    user = str(Path(path).resolve()) if path else None
    mine = [f for f in frames if user and str(Path(f.filename).resolve()) == user]
    f = mine[-1] if mine else (frames[-1] if frames else None)
    at = f"{f.filename} line {f.lineno} in {f.name}" if f else "the strategy"
    return f"{at}: {type(exc).__name__} while {doing}: {exc}"


def _source(cls: type[Strategy]) -> str | None:
    mod = sys.modules.get(cls.__module__)
    return getattr(mod, "__file__", None)


def start(cls: type[Strategy], data: Mapping[str, np.ndarray], times: np.ndarray,
          params: Mapping[str, Any] | None = None, symbol: str = "") -> Strategy:
    """Return an instance of ``cls`` after its ``init`` over ``data``.

    Raises:
        StrategyError: a bad parameter, or ``init`` raised (file and line named).
    """
    strat = cls(data, times, params, symbol)
    strat._cursor[0] = len(times) - 1  # init may look at the history it has, not beyond
    try:
        strat.init()
    except StrategyError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise StrategyError(where_failed(exc, _source(cls), "running init()"),
                            field="strategy") from None
    return strat


def step(strat: Strategy, i: int) -> Decision | None:
    """Return ``strat``'s decision with bar ``i`` the last closed.

    Raises:
        StrategyError: ``next`` raised, read ahead, or returned something else than a
            Decision or None.
    """
    strat._cursor[0] = i
    try:
        d = strat.next()
    except StrategyError:
        raise
    except Exception as exc:  # noqa: BLE001 - the user's code may raise anything
        raise StrategyError(where_failed(exc, _source(type(strat)),
                                         f"running next() on bar {i} ({strat.now:%Y-%m-%d %H:%M} "
                                         "UTC)"), field="strategy") from None
    if d is not None and not isinstance(d, Decision):
        raise StrategyError(f"{_source(type(strat))}: next() returned {d!r}; return "
                            "self.long(...), self.short(...), self.flat(...) or None",
                            field="strategy")
    return d


def run_signals(cls: type[Strategy], data: Mapping[str, np.ndarray], times: np.ndarray,
                params: Mapping[str, Any] | None = None,
                symbol: str = "") -> tuple[np.ndarray, list[Decision | None]]:
    """Return per bar the signal code (1 long, -1 short, FLAT close, 0 none) and decision."""
    strat = start(cls, data, times, params, symbol)
    n = len(times)
    codes = np.zeros(n, dtype="int8")
    decisions: list[Decision | None] = [None] * n
    for i in range(n):
        d = step(strat, i)
        decisions[i] = d
        if d is not None:
            codes[i] = FLAT if d.direction == "flat" else d.sign
    return codes, decisions


def decide_last(cls: type[Strategy], data: Mapping[str, np.ndarray], times: np.ndarray,
                params: Mapping[str, Any] | None = None, symbol: str = "") -> Decision | None:
    """Return the decision on the last closed bar of ``data`` (the live suite's call)."""
    if len(times) == 0:
        return None
    return step(start(cls, data, times, params, symbol), len(times) - 1)
