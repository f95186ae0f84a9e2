"""Mean reversion, long only: buy when RSI is oversold and the close is below the lower
Bollinger band; sell (go flat) when RSI recovers past the middle or the close reaches the
upper band.  Conviction grows with how deep the RSI went.

    .venv/bin/python hybrid_manager.py replay --data .venv/lib/python3.11/site-packages/backtesting/test/GOOG.csv \\
        --symbol GOOG --strategy docs/strategies/rsi_bands.py:RsiBands --param oversold=30 --out out/rsi
"""
from shared.strategy import Strategy


class RsiBands(Strategy):
    params = {"period": 14, "oversold": 30, "exit_rsi": 55, "band_period": 20, "band_dev": 2.0}

    def init(self):
        self.rsi = self.I("RSI", timeperiod=self.p.period)
        self.upper, self.middle, self.lower = self.I(
            "BBANDS", timeperiod=self.p.band_period, nbdevup=self.p.band_dev,
            nbdevdn=self.p.band_dev)

    def next(self):
        close, rsi = self.data.close[-1], self.rsi[-1]
        if rsi < self.p.oversold and close < self.lower[-1]:
            depth = min(1.0, (self.p.oversold - rsi) / 20 + 0.5)
            return self.long(f"RSI {rsi:.1f} oversold below the lower band", depth,
                             rsi=rsi, lower=self.lower[-1])
        if rsi > self.p.exit_rsi or close > self.upper[-1]:
            return self.flat(f"RSI {rsi:.1f} recovered", rsi=rsi)
        return None
