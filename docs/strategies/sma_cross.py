"""Moving-average crossover: long when the fast SMA crosses above the slow one, short when it
crosses below (always in the market, like backtesting.py's SmaCross example).

    .venv/bin/python hybrid_manager.py replay --data .venv/lib/python3.11/site-packages/backtesting/test/GOOG.csv \\
        --symbol GOOG --strategy docs/strategies/sma_cross.py:SmaCross --param fast=10 --param slow=20 --out out/sma
"""
from shared.strategy import Strategy, crossed_above, crossed_below


class SmaCross(Strategy):
    params = {"fast": 10, "slow": 20}

    def init(self):
        self.fast = self.I("SMA", timeperiod=self.p.fast)
        self.slow = self.I("SMA", timeperiod=self.p.slow)

    def next(self):
        if crossed_above(self.fast, self.slow):
            return self.long(f"SMA({self.p.fast}) crossed above SMA({self.p.slow})")
        if crossed_below(self.fast, self.slow):
            return self.short(f"SMA({self.p.fast}) crossed below SMA({self.p.slow})")
        return None
