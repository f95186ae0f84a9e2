"""backtesting.py's SMA cross with class-level parameters, so ``Backtest.optimize`` can search
them (a module-level class: its process pool pickles it).  Used by bench/replay_bench.py."""
from __future__ import annotations

import pandas as pd
from backtesting import Strategy
from backtesting.lib import crossover


class OptimisableSmaCross(Strategy):
    fast, slow = 10, 20

    def init(self) -> None:
        close = pd.Series(self.data.Close)
        self.f = self.I(lambda: close.rolling(self.fast).mean().to_numpy())
        self.s = self.I(lambda: close.rolling(self.slow).mean().to_numpy())

    def next(self) -> None:
        if crossover(self.f, self.s):
            self.position.close()
            self.buy()
        elif crossover(self.s, self.f):
            self.position.close()
            self.sell()
