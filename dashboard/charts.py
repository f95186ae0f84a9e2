"""Chart series for the symbol view: visible bars, TA-Lib overlays and indicator panes.

Pure functions over a pandas OHLCV frame (no Flask, no database): the backend fetches the
bars through the data manager (which hides every bar the market clock has not closed yet) and
passes them here.  Times are UNIX seconds, the unit Lightweight Charts takes.
"""
from __future__ import annotations

import math
from typing import Any

import numpy as np
import pandas as pd
import talib

#: How far back to ask the data manager for each timeframe so ``bars`` bars are covered
#: (a session has 390 one-minute bars; weekends and holidays need the slack).
LOOKBACK_DAYS = {"1m": 4, "5m": 10, "15m": 25, "1h": 80, "1d": 600}
TIMEFRAMES = tuple(LOOKBACK_DAYS)
INTRADAY = ("1m", "5m", "15m", "1h")
#: A bar's length (a daily bar is one exchange session, stamped at its date's midnight New York).
INTERVAL_S = {"1m": 60, "5m": 300, "15m": 900, "1h": 3600, "1d": 86400}


def _series(times: np.ndarray, values: np.ndarray, digits: int = 4) -> list[dict[str, Any]]:
    return [{"time": int(t), "value": round(float(v), digits)}
            for t, v in zip(times, values, strict=True) if not math.isnan(v)]


def session_vwap(df: pd.DataFrame, tz: str = "America/New_York") -> np.ndarray:
    """Return the VWAP reset at each exchange-local day, from typical price x volume.

    TA-Lib has no VWAP, so this one line of cumulative sums per session is written here.
    """
    typical = (df["high"] + df["low"] + df["close"]).to_numpy(float) / 3.0
    vol = df["volume"].to_numpy(float)
    day = df.index.tz_convert(tz).normalize()
    pv = pd.Series(typical * vol, index=df.index).groupby(day).cumsum().to_numpy()
    cv = pd.Series(vol, index=df.index).groupby(day).cumsum().to_numpy()
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(cv > 0, pv / cv, np.nan)


def chart_payload(df: pd.DataFrame, *, bars: int, timeframe: str = "5m", sma: int = 20,
                  ema: int = 9, bb: int = 20, rsi: int = 14) -> dict[str, Any]:
    """Return candles, volume, SMA/EMA/VWAP/Bollinger overlays, RSI and MACD for the last bars.

    Indicators are computed over every bar given (warm-up included) and then cut to ``bars``,
    so the first plotted values are already settled.  VWAP is a session measure: it is drawn
    on intraday timeframes only (on daily bars each "session" would be one bar).
    """
    if len(df) == 0:
        return {"candles": [], "volume": [], "interval_s": INTERVAL_S[timeframe], "overlays": {},
                "rsi": [], "macd": {}}
    o, h, lo, c = (df[k].to_numpy(float) for k in ("open", "high", "low", "close"))
    v = df["volume"].to_numpy(float)
    # pandas 3 indexes may be in us or ns; ask for seconds explicitly
    times = df.index.as_unit("s").asi8.astype(np.int64)
    upper, middle, lower = talib.BBANDS(c, timeperiod=bb, nbdevup=2.0, nbdevdn=2.0)
    macd, signal, hist = talib.MACD(c, fastperiod=12, slowperiod=26, signalperiod=9)
    sl = slice(max(0, len(df) - bars), None)
    t = times[sl]
    candles = [{"time": int(ti), "open": float(a), "high": float(b), "low": float(d),
                "close": float(e)} for ti, a, b, d, e in zip(t, o[sl], h[sl], lo[sl], c[sl],
                                                              strict=True)]
    volume = [{"time": int(ti), "value": float(x), "up": bool(e >= a)}
              for ti, x, a, e in zip(t, v[sl], o[sl], c[sl], strict=True)]
    overlays = {f"SMA {sma}": _series(t, talib.SMA(c, timeperiod=sma)[sl]),
                f"EMA {ema}": _series(t, talib.EMA(c, timeperiod=ema)[sl])}
    if timeframe in INTRADAY:
        overlays["VWAP"] = _series(t, session_vwap(df)[sl])
    overlays.update({"BB upper": _series(t, upper[sl]), "BB middle": _series(t, middle[sl]),
                     "BB lower": _series(t, lower[sl])})
    return {
        "candles": candles,
        "volume": volume,
        "interval_s": INTERVAL_S[timeframe],
        "overlays": overlays,
        "rsi": _series(t, talib.RSI(c, timeperiod=rsi)[sl], 2),
        "macd": {"macd": _series(t, macd[sl]), "signal": _series(t, signal[sl]),
                 "hist": _series(t, hist[sl])},
    }
