"""Intraday opening-range breakout on one-minute bars (exchange time, New York):

- the opening range is the high and low of the first ``range_minutes`` of the session;
- after it, go long on a close above the range high (short below the low) when the volume of
  the bar is above its ``volume_period``-bar average;
- at most one entry a day; flat at ``flat_at`` (15:50 by default), never held overnight.

    .venv/bin/python hybrid_manager.py replay --market 2024-03-04:2024-03-08 --universe 5 --bars 1m \\
        --strategy docs/strategies/opening_range.py:OpeningRange --param range_minutes=15 --out out/orb

(the built-in market's one-minute bars for five symbols over a week; a file of your own works
the same with ``--data FILE --tz America/New_York``)
"""
from datetime import time

from shared.strategy import Strategy


class OpeningRange(Strategy):
    params = {"range_minutes": 15, "volume_period": 20, "flat_at": "15:50"}

    def init(self):
        self.avg_volume = self.I("SMA", self.data.volume, timeperiod=self.p.volume_period)
        hh, mm = (int(x) for x in str(self.p.flat_at).split(":"))
        self.flat_at = time(hh, mm)
        self.day = None
        self.high = self.low = None
        self.traded = False

    def next(self):
        t = self.exchange_time
        if t.date() != self.day:  # a new session: start a new range
            self.day, self.high, self.low, self.traded = t.date(), None, None, False
        minutes = (t.hour * 60 + t.minute) - (9 * 60 + 30)
        if minutes < 0:
            return None
        if t.time() >= self.flat_at:
            return self.flat("session close")
        high, low, close = self.data.high[-1], self.data.low[-1], self.data.close[-1]
        if minutes < self.p.range_minutes:
            self.high = high if self.high is None else max(self.high, high)
            self.low = low if self.low is None else min(self.low, low)
            return None
        if self.traded or self.high is None or self.data.volume[-1] <= self.avg_volume[-1]:
            return None
        if close > self.high:
            self.traded = True
            return self.long(f"broke the {self.p.range_minutes}-minute range high {self.high:.2f}",
                             range_high=self.high)
        if close < self.low:
            self.traded = True
            return self.short(f"broke the {self.p.range_minutes}-minute range low {self.low:.2f}",
                              range_low=self.low)
        return None
