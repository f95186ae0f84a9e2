"""Each strategy fires on a series built to trigger it and stays silent otherwise."""
from __future__ import annotations

import numpy as np
import pytest
import talib

from shared.errors import ConfigError
from shared.ta import Strategy, combine
from shared.ta.strategies import Signal
from tests.services.technical_analysis.helpers import ohlcv_from_close, session_ts


def evaluate(kind: str, data: dict[str, np.ndarray], ts: np.ndarray | None = None,
             **params: float) -> Signal:
    st = Strategy(kind, kind, params)
    outputs = {s.key: s.compute(data, ts) for s in st.specs.values()}
    return st.evaluate(outputs, data)


def cut(data: dict[str, np.ndarray], n: int) -> dict[str, np.ndarray]:
    return {k: v[:n] for k, v in data.items()}


def first(mask: np.ndarray) -> int:
    idx = np.flatnonzero(mask)
    assert idx.size, "the built series never meets the condition"
    return int(idx[0])


def v_shape(n_down: int = 60, n_up: int = 60) -> np.ndarray:
    return np.concatenate([np.linspace(120, 100, n_down), np.linspace(100.3, 125, n_up)])


def crossed_up(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Bars where ``a`` rises above ``b``; values 1e-9 apart are equal (the strategies' rule:
    a flat MACD line and its signal differ by 1e-14 of float noise, which is not a cross)."""
    tol = 1e-9 * np.maximum(np.abs(a), np.abs(b))
    m = np.zeros(a.size, bool)
    m[1:] = (a[:-1] <= b[:-1] + tol[:-1]) & (a[1:] > b[1:] + tol[1:])
    return m


@pytest.mark.parametrize(("kind", "fn"), [("sma_cross", talib.SMA), ("ema_cross", talib.EMA)])
def test_ma_cross(kind: str, fn) -> None:  # type: ignore[no-untyped-def]
    d = ohlcv_from_close(v_shape())
    i = first(crossed_up(fn(d["close"], 10), fn(d["close"], 30)))
    sig = evaluate(kind, cut(d, i + 1), fast=10, slow=30)
    assert sig.direction == "long" and 0.5 <= sig.score <= 1 and "crossed above" in sig.rule
    assert evaluate(kind, cut(d, i), fast=10, slow=30).direction == "flat"
    down = ohlcv_from_close(240 - v_shape())
    j = first(crossed_up(fn(down["close"], 30), fn(down["close"], 10)))
    assert evaluate(kind, cut(down, j + 1), fast=10, slow=30).score <= -0.5


def test_macd_cross() -> None:
    d = ohlcv_from_close(v_shape())
    m, s, _ = talib.MACD(d["close"])
    i = first(crossed_up(m, s))
    sig = evaluate("macd_cross", cut(d, i + 1))
    assert sig.direction == "long" and sig.values["hist"] >= 0
    assert evaluate("macd_cross", cut(d, i)).direction == "flat"


def test_rsi_reversion() -> None:
    d = ohlcv_from_close(v_shape(40, 20))
    r = talib.RSI(d["close"], 14)
    i = first(crossed_up(r, np.full(r.size, 30.0)))
    sig = evaluate("rsi_reversion", cut(d, i + 1))
    assert sig.direction == "long" and sig.values["rsi_prev"] <= 30 < sig.values["rsi"]
    assert evaluate("rsi_reversion", cut(d, i)).direction == "flat"  # still oversold
    assert evaluate("rsi_reversion", cut(d, 30)).direction == "flat"  # falling: no reversal yet


def test_bbands_breakout() -> None:
    rng = np.random.default_rng(5)
    close = 100 + rng.normal(0, 0.2, 60)
    close[-2:] = [100.0, 103.0]
    d = ohlcv_from_close(close)
    sig = evaluate("bbands_breakout", d)
    assert sig.direction == "long" and sig.score == 1.0
    assert evaluate("bbands_breakout", cut(d, 59)).direction == "flat"
    close[-1] = 97.0
    assert evaluate("bbands_breakout", ohlcv_from_close(close)).direction == "short"


def test_stochrsi_ema() -> None:
    rng = np.random.default_rng(11)
    up = 100 * np.exp(np.cumsum(0.004 + rng.normal(0, 0.002, 160)))
    close = np.concatenate([up, up[-1] * np.array([0.996, 0.992, 0.99, 0.989, 0.988]),
                            up[-1] * np.linspace(0.99, 1.02, 15)])
    d = ohlcv_from_close(close)
    k, dd = talib.STOCHRSI(close, 14, 5, 3)
    ema = talib.EMA(close, 50)
    low = np.zeros(close.size, bool)
    low[1:] = np.minimum(k[:-1], dd[:-1]) < 20
    i = first(crossed_up(k, dd) & low & (close > ema))
    sig = evaluate("stochrsi_ema", cut(d, i + 1))
    assert sig.direction == "long" and "StochRSI" in sig.rule
    assert evaluate("stochrsi_ema", cut(d, i)).direction == "flat"
    assert evaluate("stochrsi_ema", cut(d, 150)).direction == "flat"  # steady trend


def test_vwap_reclaim() -> None:
    ts = session_ts("2024-01-10", 30)
    close = np.concatenate([np.linspace(100, 98, 20), [98.5, 99.0, 99.5, 100.5, 101.0],
                            np.linspace(101, 102, 5)])
    d = ohlcv_from_close(close)
    from shared.ta import custom
    v = custom.vwap(ts, d["high"], d["low"], d["close"], d["volume"])["vwap"]
    i = first(crossed_up(close, v))
    sig = evaluate("vwap_reclaim", cut(d, i + 1), ts[: i + 1])
    assert sig.direction == "long" and sig.rule == "close reclaimed the session VWAP"
    assert evaluate("vwap_reclaim", cut(d, i), ts[:i]).direction == "flat"


def test_opening_range_breakout() -> None:
    ts = session_ts("2024-01-10", 8)
    close = np.array([100.0, 100.4, 99.8, 100.1, 100.3, 101.5, 101.0, 99.0])
    d = {"open": close, "high": close + 0.1, "low": close - 0.1, "close": close,
         "volume": np.full(8, 1000.0)}
    # The range (first three 5-minute bars) is 99.7 .. 100.5.
    sig = evaluate("opening_range_breakout", cut(d, 6), ts[:6])
    assert sig.direction == "long" and sig.values["orh"] == 100.5
    assert evaluate("opening_range_breakout", cut(d, 5), ts[:5]).direction == "flat"
    assert evaluate("opening_range_breakout", cut(d, 3), ts[:3]).direction == "flat"  # forming
    assert evaluate("opening_range_breakout", d, ts).direction == "short"


def test_bad_strategy_settings_are_named() -> None:
    with pytest.raises(ConfigError) as exc:
        Strategy("x", "sma_cross", {"fast": 30, "slow": 10})
    assert "fast must be below slow" in exc.value.message
    with pytest.raises(ConfigError) as exc:
        Strategy("x", "rsi_reversion", {"perod": 3})
    assert exc.value.field == "technical.strategies.x.params.perod"
    with pytest.raises(ConfigError):
        Strategy("x", "nope")


def test_weighted_combination() -> None:
    sigs = [Signal("a", "sma_cross", "long", 0.8, "r"), Signal("b", "rsi_reversion", "flat", 0.0,
                                                                "none"),
            Signal("c", "macd_cross", "short", -0.5, "r")]
    out = combine(sigs, {"a": 3.0, "b": 1.0, "c": 1.0}, long_threshold=0.25)
    assert out.score == pytest.approx((2.4 - 0.5) / 5)
    assert out.direction == "long"
    assert combine(sigs, {"a": 1.0, "b": 1.0, "c": 1.0}).direction == "flat"
