"""The strategy API a user writes against: one class, run unchanged in replay and live.

A strategy subclasses ``Strategy``, declares its ``params`` (defaults), asks for indicators
by TA-Lib name in ``init`` and decides on each closed bar in ``next``::

    class SmaCross(Strategy):
        params = {"fast": 10, "slow": 20}

        def init(self):
            self.fast = self.I("SMA", timeperiod=self.p.fast)
            self.slow = self.I("SMA", timeperiod=self.p.slow)

        def next(self):
            if crossed_above(self.fast, self.slow):
                return self.long("fast SMA crossed above the slow one")
            if crossed_below(self.fast, self.slow):
                return self.short("fast SMA crossed below the slow one")
            return None  # no change

It cannot see the future by construction: every series it reads (``self.data.close``, each
indicator) is a ``Series`` view that ends at the bar being decided; reading past it raises
``LookAheadError`` naming the strategy's file and line.  Indicators are computed once over the
whole history (TA-Lib's functions are causal); a Python function given to ``I`` is checked
for causality on a few prefixes before it is used.
"""
from __future__ import annotations

import inspect
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import SimpleNamespace
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np

from shared.errors import ValidationError

FIELDS = ("open", "high", "low", "close", "volume")
NEW_YORK = ZoneInfo("America/New_York")


class StrategyError(ValidationError):
    """A user strategy failed: the message names its file and line."""


class LookAheadError(StrategyError):
    """A strategy read a bar (or an indicator value) that has not closed yet."""


def user_frame() -> str:
    """Return "file.py line N" of the innermost caller outside this package (the user's)."""
    here = __name__.rsplit(".", 1)[0].replace(".", "/")
    for fr in inspect.stack()[1:]:
        if here not in fr.filename.replace("\\", "/"):
            return f"{fr.filename} line {fr.lineno}"
    return "unknown place"


class Series:
    """A read-only view of one series up to the current bar (``[-1]`` is the last closed).

    Negative indexes count back from the current bar; a non-negative index is absolute and may
    not pass the current bar.  ``len()`` is the number of closed bars; ``np.asarray`` gives the
    values so far (a copy: writing to it changes nothing).
    """

    __slots__ = ("_arr", "_cursor", "name")

    def __init__(self, arr: np.ndarray, cursor: list[int], name: str) -> None:
        self._arr, self._cursor, self.name = arr, cursor, name

    @property
    def _n(self) -> int:
        return self._cursor[0] + 1

    def _future(self, what: str) -> LookAheadError:
        return LookAheadError(f"{user_frame()}: {self.name}{what} reads a bar that has not "
                              f"closed yet (the last closed bar is index {self._n - 1}, or "
                              "-1); a strategy sees only closed bars", field="strategy")

    def __len__(self) -> int:
        return self._n

    def __getitem__(self, key: int | slice) -> Any:
        n = self._n
        if isinstance(key, slice):
            start, stop, step = key.start, key.stop, key.step
            if stop is not None and stop > n:
                raise self._future(f"[{start}:{stop}]")
            return self._arr[:n][slice(start, stop, step)].copy()
        k = int(key)
        if k >= n:
            raise self._future(f"[{k}]")
        if k < -n:
            raise IndexError(f"{self.name}[{k}]: only {n} bars have closed")
        return float(self._arr[k if k >= 0 else n + k])

    def __array__(self, dtype: Any = None, copy: Any = None) -> np.ndarray:
        out = self._arr[: self._n].copy()
        return out if dtype is None else out.astype(dtype)

    def __float__(self) -> float:
        return self[-1]

    def __repr__(self) -> str:
        return f"Series({self.name}, {self._n} bars, last={self[-1] if self._n else None})"

    # comparisons with a number or another series compare the last values
    def _last(self, other: Any) -> float:
        return other[-1] if isinstance(other, Series) else float(other)

    def __gt__(self, o: Any) -> bool: return self[-1] > self._last(o)  # noqa: E704
    def __lt__(self, o: Any) -> bool: return self[-1] < self._last(o)  # noqa: E704
    def __ge__(self, o: Any) -> bool: return self[-1] >= self._last(o)  # noqa: E704
    def __le__(self, o: Any) -> bool: return self[-1] <= self._last(o)  # noqa: E704


@dataclass(frozen=True)
class Decision:
    """What ``next`` returned: go long, go short, or close (flat), and why."""

    direction: str  # "long" | "short" | "flat"
    reason: str = ""
    conviction: float = 1.0
    values: dict[str, float | None] = field(default_factory=dict)

    @property
    def sign(self) -> int:
        return {"long": 1, "short": -1}.get(self.direction, 0)


def _side(a: float, b: float) -> int:
    # the built-in strategies' rule (technical analysis's ``side_of``): values 1e-9 apart are
    # equal, so float noise is never a cross
    if not (math.isfinite(a) and math.isfinite(b)):
        return 2
    if abs(a - b) <= max(1e-9 * max(abs(a), abs(b)), 1e-12):
        return 0
    return 1 if a > b else -1


def _pair(x: Any) -> tuple[float, float]:
    if isinstance(x, Series):
        return (x[-2] if len(x) > 1 else math.nan), x[-1]
    v = float(x)
    return v, v


def crossed_above(a: Series | float, b: Series | float) -> bool:
    """Return True when ``a`` went from at or below ``b`` to above it on the last bar."""
    (a0, a1), (b0, b1) = _pair(a), _pair(b)
    s0, s1 = _side(a0, b0), _side(a1, b1)
    return s0 in (-1, 0) and s1 == 1


def crossed_below(a: Series | float, b: Series | float) -> bool:
    """Return True when ``a`` went from at or above ``b`` to below it on the last bar."""
    (a0, a1), (b0, b1) = _pair(a), _pair(b)
    s0, s1 = _side(a0, b0), _side(a1, b1)
    return s0 in (1, 0) and s1 == -1


class Strategy:
    """Base class of a user strategy (see the module doc)."""

    params: Mapping[str, Any] = {}

    def __init__(self, data: Mapping[str, np.ndarray], times: np.ndarray,
                 params: Mapping[str, Any] | None = None, symbol: str = "") -> None:
        unknown = set(params or {}) - set(self.params)
        if unknown:
            raise StrategyError(f"{type(self).__name__}: unknown parameter(s) "
                                f"{sorted(unknown)}; it takes {sorted(self.params)}",
                                field="params")
        merged = {**self.params, **(params or {})}
        self.p = SimpleNamespace(**merged)
        self.symbol = symbol
        self._cursor = [-1]
        self._raw = {k: np.asarray(data[k], dtype="float64") for k in FIELDS}
        self._times = np.asarray(times, dtype="datetime64[ns]")
        self.data = SimpleNamespace(**{k: Series(v, self._cursor, k)
                                       for k, v in self._raw.items()})
        self._indicators: dict[str, Any] = {}

    # -- what a strategy calls ----------------------------------------------------------------
    @property
    def i(self) -> int:
        """The index of the bar being decided (the last closed)."""
        return self._cursor[0]

    @property
    def now(self) -> datetime:
        """The time of the bar being decided (its open, UTC)."""
        import pandas as pd

        return pd.Timestamp(self._times[self._cursor[0]], tz="UTC").to_pydatetime()

    @property
    def exchange_time(self) -> datetime:
        """``now`` in New York time (the exchange's clock, for session rules)."""
        return self.now.astimezone(NEW_YORK)

    def I(self, indicator: str | Callable[..., Any], *inputs: Any,  # noqa: E743, N802
          **kwargs: Any) -> Any:
        """Return an indicator as ``Series`` (a tuple of them for several outputs).

        ``indicator`` is a TA-Lib function name (``"SMA"``, ``"MACD"``, ``"ATR"``...) whose
        inputs default to the bars' fields it needs (``"SMA"`` on close); pass ``inputs``
        (series or arrays) to use others.  A Python function is called with ``inputs`` and
        checked to be causal.

        Raises:
            StrategyError: an unknown TA-Lib name or parameter, or a function that reads ahead.
        """
        where = user_frame()
        arrays = [np.asarray(x, dtype="float64") if not isinstance(x, Series)
                  else x._arr for x in inputs]
        if isinstance(indicator, str):
            out, names = self._talib(indicator.upper(), arrays, kwargs, where)
        else:
            out, names = self._causal(indicator, arrays, kwargs, where)
        label = indicator if isinstance(indicator, str) else getattr(indicator, "__name__", "I")
        views = tuple(Series(np.asarray(o, dtype="float64"), self._cursor,
                             f"{label}.{n}" if len(names) > 1 else str(label))
                      for o, n in zip(out, names, strict=True))
        return views[0] if len(views) == 1 else views

    def long(self, reason: str = "", conviction: float = 1.0, **values: float) -> Decision:
        return Decision("long", reason, conviction, dict(values))

    def short(self, reason: str = "", conviction: float = 1.0, **values: float) -> Decision:
        return Decision("short", reason, conviction, dict(values))

    def flat(self, reason: str = "", **values: float) -> Decision:
        """Close the position (no new one)."""
        return Decision("flat", reason, 1.0, dict(values))

    # -- what a strategy overrides -----------------------------------------------------------
    def init(self) -> None:
        """Ask for indicators (``self.I``); called once before the first bar."""

    def next(self) -> Decision | None:
        """Decide on the bar that just closed; return a Decision or None (no change)."""
        return None

    # -- helpers -------------------------------------------------------------------------------
    def _talib(self, name: str, arrays: list[np.ndarray], kwargs: dict[str, Any],
               where: str) -> tuple[list[np.ndarray], list[str]]:
        import talib.abstract

        try:
            fn = talib.abstract.Function(name)
        except Exception:  # noqa: BLE001 - TA-Lib raises its own Exception for a bad name
            raise StrategyError(f"{where}: {name!r} is not a TA-Lib function (SMA, EMA, RSI, "
                                "MACD, ATR, BBANDS, CDLENGULFING...)", field="strategy") from None
        bad = set(kwargs) - set(fn.parameters)
        if bad:
            raise StrategyError(f"{where}: {name} takes {sorted(fn.parameters)}, not "
                                f"{sorted(bad)}", field="strategy")
        try:
            if arrays:
                res = getattr(talib, name)(*arrays, **kwargs)
            else:
                res = fn(self._raw, **kwargs)
        except Exception as exc:  # noqa: BLE001 - TA-Lib's errors are plain Exceptions
            raise StrategyError(f"{where}: {name}: {exc}", field="strategy") from None
        outs = list(res) if isinstance(res, list | tuple) else [res]
        return outs, list(fn.output_names)

    def _causal(self, fn: Callable[..., Any], arrays: list[np.ndarray], kwargs: dict[str, Any],
                where: str) -> tuple[list[np.ndarray], list[str]]:
        arrays = arrays or [self._raw["close"]]
        full = fn(*arrays, **kwargs)
        outs = [np.asarray(o, dtype="float64") for o in
                (full if isinstance(full, tuple) else (full,))]
        n = len(arrays[0])
        for cut in sorted({n // 3, n // 2, (2 * n) // 3} - {0}):
            part = fn(*[a[:cut] for a in arrays], **kwargs)
            parts = part if isinstance(part, tuple) else (part,)
            for o, q in zip(outs, parts, strict=True):
                if not np.allclose(o[:cut], np.asarray(q, dtype="float64"), equal_nan=True):
                    raise LookAheadError(f"{where}: {getattr(fn, '__name__', fn)} gives "
                                         f"different values for bars before {cut} once later "
                                         "bars exist: it reads the future", field="strategy")
        return outs, [f"out{k}" for k in range(len(outs))] if len(outs) > 1 else ["real"]
