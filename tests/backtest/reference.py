"""backtesting.py's SMA-cross example: the independent reference the replay is checked against
(tests/services/coordination/test_replay.py) and timed beside (bench/replay_bench.py)."""
from __future__ import annotations

from typing import Any

import pandas as pd


def sma_cross_strategy(fast: int = 10, slow: int = 20) -> Any:
    """Return a ``backtesting.Strategy`` class: on a fast/slow SMA cross, close and reverse.

    Raises:
        ImportError: when backtesting.py is not installed.
    """
    from backtesting import Strategy
    from backtesting.lib import crossover

    class SmaCross(Strategy):
        def init(self) -> None:
            close = pd.Series(self.data.Close)
            self.f = self.I(lambda: close.rolling(fast).mean().to_numpy())
            self.s = self.I(lambda: close.rolling(slow).mean().to_numpy())

        def next(self) -> None:
            if crossover(self.f, self.s):
                self.position.close()
                self.buy()
            elif crossover(self.s, self.f):
                self.position.close()
                self.sell()

    return SmaCross
