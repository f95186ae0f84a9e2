"""A user's strategy file as one of the live suite's strategies.

``UserStrategy`` gives a ``shared.strategy.Strategy`` class the interface of the built-in
kinds (``specs``, ``evaluate``), so its decision on the last closed bar becomes a ``Signal``
that flows through the same blend, sizing, risk and decision ledger.  The class is the one a
replay runs (``replay --strategy file.py:Class``), unchanged.  Live, a ``flat`` decision is no
entry signal: exits are the automation's (stops, targets, time), as for the built-ins.
"""
from __future__ import annotations

import logging
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np

from shared.errors import ConfigError
from shared.strategy import StrategyError, decide_last, load_strategy
from shared.strategy.runner import parse_ref
from shared.ta.strategies import Signal

log = logging.getLogger(__name__)


def resolve_ref(ref: str, root: Path) -> str:
    """Return ``ref`` with a relative file made absolute against ``root`` (the repository)."""
    path, name = parse_ref(ref)
    if not path.is_absolute():
        path = root / path
    return f"{path}:{name}" if name else str(path)


class UserStrategy:
    """A strategy class from a user's file, evaluated on the last closed bar."""

    kind = "user"

    def __init__(self, name: str, ref: str, params: Mapping[str, Any] | None = None,
                 weight: float = 1.0, timeframe: str | None = None) -> None:
        """Load the class and check its parameters.

        Raises:
            ConfigError: the file or class cannot be loaded, or a parameter is unknown.
        """
        self.name, self.ref, self.weight, self.timeframe = name, ref, float(weight), timeframe
        self.params = dict(params or {})
        self.specs: dict[str, Any] = {}  # it asks TA-Lib for its own indicators
        try:
            self.cls = load_strategy(ref)
            empty = {k: np.zeros(0) for k in ("open", "high", "low", "close", "volume")}
            self.cls(empty, np.zeros(0, dtype="datetime64[ns]"), self.params)
        except StrategyError as exc:
            raise ConfigError(f"strategy '{name}': {exc.message}",
                              field=f"technical.strategies.{name}.file") from None

    def evaluate(self, outputs: Mapping[str, Mapping[str, np.ndarray]],
                 data: Mapping[str, np.ndarray], ts: np.ndarray | None = None,
                 symbol: str = "") -> Signal:
        """Return the class's decision on the last bar of ``data`` as a Signal (a failing
        strategy gives a flat signal whose rule says why, and is logged)."""
        tf = self.timeframe or ""
        n = len(data["close"])
        times = (np.asarray(ts, dtype="int64").astype("datetime64[ns]") if ts is not None
                 else np.zeros(n, dtype="datetime64[ns]"))
        try:
            d = decide_last(self.cls, data, times, self.params, symbol)
        except StrategyError as exc:
            log.warning("user strategy %s failed: %s", self.name, exc.message)
            return Signal(self.name, self.kind, "flat", 0.0, f"strategy error: {exc.message}",
                          {}, tf)
        if d is None or d.direction == "flat":
            return Signal(self.name, self.kind, "flat", 0.0,
                          (d.reason if d is not None else "") or "no rule fired",
                          dict(d.values) if d is not None else {}, tf)
        score = float(np.clip(d.sign * d.conviction, -1.0, 1.0))
        return Signal(self.name, self.kind, d.direction, score, d.reason or self.cls.__name__,
                      {k: (None if v is None else float(v)) for k, v in d.values.items()}, tf)
