"""Named, parameterised strategies that read indicator series and emit one signal each.

A strategy looks at the last two bars of its indicators and says ``long``, ``short`` or
``flat``, with a score in [-1, 1] (sign = direction, size = conviction: 0.5 when the rule just
fires, up to 1 as the move is stronger), the rule that fired and the indicator values behind
it.  Parameters are pydantic models so a bad setting is refused at start with its name.
"""
from __future__ import annotations

import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator
from pydantic import ValidationError as PydanticError

from shared.errors import ConfigError
from shared.ta.indicators import resolve

Series = Mapping[str, Mapping[str, np.ndarray]]


@dataclass(frozen=True)
class Signal:
    """One strategy's verdict on the latest bar."""

    strategy: str
    kind: str
    direction: str  # long | short | flat
    score: float
    rule: str
    values: dict[str, float | None] = field(default_factory=dict)
    timeframe: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {"strategy": self.strategy, "kind": self.kind, "direction": self.direction,
                "score": round(self.score, 6), "rule": self.rule, "values": self.values,
                "timeframe": self.timeframe}


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)
    full_score_pct: float = Field(0.5, gt=0, description="move (% of price) that scores 1")


class CrossParams(_Params):
    fast: int = Field(10, ge=2, le=1000)
    slow: int = Field(30, ge=3, le=2000)

    @model_validator(mode="after")
    def _order(self) -> CrossParams:
        if self.fast >= self.slow:
            raise ValueError(f"fast must be below slow, was fast={self.fast} slow={self.slow}")
        return self


class MacdParams(_Params):
    fast: int = Field(12, ge=2, le=500)
    slow: int = Field(26, ge=3, le=1000)
    signal: int = Field(9, ge=1, le=500)
    full_score_pct: float = Field(0.1, gt=0)


class RsiParams(_Params):
    period: int = Field(14, ge=2, le=500)
    oversold: float = Field(30.0, gt=0, lt=50)
    overbought: float = Field(70.0, gt=50, lt=100)


class BbandsParams(_Params):
    period: int = Field(20, ge=2, le=1000)
    nbdev: float = Field(2.0, gt=0, le=10)


class StochRsiParams(_Params):
    rsi_period: int = Field(14, ge=2, le=500)
    fastk: int = Field(5, ge=1, le=500)
    fastd: int = Field(3, ge=1, le=500)
    ema_period: int = Field(50, ge=2, le=2000)
    oversold: float = Field(20.0, ge=0, lt=50)
    overbought: float = Field(80.0, gt=50, le=100)


class VwapParams(_Params):
    nbdev: float = Field(1.0, gt=0, le=10)


class OrbParams(_Params):
    minutes: int = Field(15, ge=1, le=390)


def _last(a: np.ndarray, i: int = -1) -> float:
    return float(a[i]) if a.size >= -i else math.nan


def _conviction(move: float, close: float, full_pct: float) -> float:
    """Return 0.5 .. 1: how far past the trigger the move is, as a share of ``full_pct``."""
    if not (math.isfinite(move) and math.isfinite(close)) or close == 0:
        return 0.5
    return 0.5 + 0.5 * min(1.0, abs(move) / abs(close) * 100.0 / full_pct)


def _vals(**kw: float) -> dict[str, float | None]:
    return {k: (round(v, 6) if math.isfinite(v) else None) for k, v in kw.items()}


# Two indicator values this close are equal: the same average computed by two routes (an SMA
# and an EMA of a flat series, say) differs in the last bits, and noise is not a cross.
CROSS_REL_TOL = 1e-9
CROSS_ABS_TOL = 1e-12


def side_of(a: float, b: float) -> int:
    """Return 1 if ``a`` is above ``b``, -1 if below, 0 if equal within the tolerances."""
    if abs(a - b) <= max(CROSS_REL_TOL * max(abs(a), abs(b)), CROSS_ABS_TOL):
        return 0
    return 1 if a > b else -1


def _cross(a0: float, a1: float, b0: float, b1: float) -> int:
    """Return 1 if a crossed above b on the last bar, -1 if below, else 0 (NaN: 0; values
    equal within ``CROSS_REL_TOL`` are equal, whatever the floating-point noise)."""
    if not all(math.isfinite(x) for x in (a0, a1, b0, b1)):
        return 0
    s0, s1 = side_of(a0, b0), side_of(a1, b1)
    if s0 <= 0 and s1 > 0:
        return 1
    if s0 >= 0 and s1 < 0:
        return -1
    return 0


@dataclass(frozen=True)
class Verdict:
    direction: int
    conviction: float
    rule: str
    values: dict[str, float | None]


def _ma_cross(ma: str) -> Callable[[Any, Series, Mapping[str, np.ndarray]], Verdict]:
    def run(p: CrossParams, s: Series, d: Mapping[str, np.ndarray]) -> Verdict:
        f, sl = s["fast"]["real"], s["slow"]["real"]
        c = _last(d["close"])
        x = _cross(_last(f, -2), _last(f), _last(sl, -2), _last(sl))
        gap = _last(f) - _last(sl)
        vals = _vals(**{f"{ma}_fast": _last(f), f"{ma}_slow": _last(sl), "close": c})
        side = "above" if x > 0 else "below"
        return Verdict(x, _conviction(gap, c, p.full_score_pct),
                       f"{ma}({p.fast}) crossed {side} {ma}({p.slow})", vals)
    return run


def _macd(p: MacdParams, s: Series, d: Mapping[str, np.ndarray]) -> Verdict:
    m, sig, h = s["macd"]["macd"], s["macd"]["macdsignal"], s["macd"]["macdhist"]
    x = _cross(_last(m, -2), _last(m), _last(sig, -2), _last(sig))
    c = _last(d["close"])
    side = "above" if x > 0 else "below"
    return Verdict(x, _conviction(_last(h), c, p.full_score_pct),
                   f"MACD crossed {side} its signal line",
                   _vals(macd=_last(m), signal=_last(sig), hist=_last(h), close=c))


def _rsi(p: RsiParams, s: Series, d: Mapping[str, np.ndarray]) -> Verdict:
    r = s["rsi"]["real"]
    r0, r1 = _last(r, -2), _last(r)
    vals = _vals(rsi=r1, rsi_prev=r0)
    if _cross(r0, r1, p.oversold, p.oversold) > 0:
        depth = (p.oversold - r0) / 10.0
        return Verdict(1, 0.5 + 0.5 * min(1.0, depth),
                       f"RSI({p.period}) rose back above {p.oversold:g} from oversold", vals)
    if _cross(r0, r1, p.overbought, p.overbought) < 0:
        depth = (r0 - p.overbought) / 10.0
        return Verdict(-1, 0.5 + 0.5 * min(1.0, depth),
                       f"RSI({p.period}) fell back below {p.overbought:g} from overbought", vals)
    return Verdict(0, 0.0, "", vals)


def _bbands(p: BbandsParams, s: Series, d: Mapping[str, np.ndarray]) -> Verdict:
    up, mid, lo = (s["bb"][k] for k in ("upperband", "middleband", "lowerband"))
    c0, c1 = _last(d["close"], -2), _last(d["close"])
    vals = _vals(upper=_last(up), middle=_last(mid), lower=_last(lo), close=c1)
    width = _last(up) - _last(mid)
    if _cross(c0, c1, _last(up, -2), _last(up)) > 0:
        return Verdict(1, 0.5 + 0.5 * min(1.0, (c1 - _last(up)) / width if width > 0 else 1.0),
                       f"close broke above the upper band ({p.period}, {p.nbdev:g} sd)", vals)
    if _cross(c0, c1, _last(lo, -2), _last(lo)) < 0:
        return Verdict(-1, 0.5 + 0.5 * min(1.0, (_last(lo) - c1) / width if width > 0 else 1.0),
                       f"close broke below the lower band ({p.period}, {p.nbdev:g} sd)", vals)
    return Verdict(0, 0.0, "", vals)


def _stochrsi(p: StochRsiParams, s: Series, d: Mapping[str, np.ndarray]) -> Verdict:
    k, dd, ema = s["stochrsi"]["fastk"], s["stochrsi"]["fastd"], s["ema"]["real"]
    c = _last(d["close"])
    x = _cross(_last(k, -2), _last(k), _last(dd, -2), _last(dd))
    vals = _vals(fastk=_last(k), fastd=_last(dd), ema=_last(ema), close=c)
    low_zone = min(_last(k, -2), _last(dd, -2)) < p.oversold
    high_zone = max(_last(k, -2), _last(dd, -2)) > p.overbought
    if x > 0 and low_zone and c > _last(ema):
        return Verdict(1, _conviction(c - _last(ema), c, p.full_score_pct),
                       f"StochRSI %K crossed above %D below {p.oversold:g} with close over "
                       f"EMA({p.ema_period})", vals)
    if x < 0 and high_zone and c < _last(ema):
        return Verdict(-1, _conviction(c - _last(ema), c, p.full_score_pct),
                       f"StochRSI %K crossed below %D above {p.overbought:g} with close under "
                       f"EMA({p.ema_period})", vals)
    return Verdict(0, 0.0, "", vals)


def _vwap(p: VwapParams, s: Series, d: Mapping[str, np.ndarray]) -> Verdict:
    v, up = s["vwap"]["vwap"], s["vwap"]["upper1"]
    c0, c1 = _last(d["close"], -2), _last(d["close"])
    x = _cross(c0, c1, _last(v, -2), _last(v))
    sd = _last(up) - _last(v)
    vals = _vals(vwap=_last(v), sd=sd, close=c1)
    conv = 0.5 + 0.5 * min(1.0, abs(c1 - _last(v)) / (p.nbdev * sd)) if sd > 0 else 0.5
    if x > 0:
        return Verdict(1, conv, "close reclaimed the session VWAP", vals)
    if x < 0:
        return Verdict(-1, conv, "close lost the session VWAP", vals)
    return Verdict(0, 0.0, "", vals)


def _orb(p: OrbParams, s: Series, d: Mapping[str, np.ndarray]) -> Verdict:
    hi, lo = _last(s["orb"]["orh"]), _last(s["orb"]["orl"])
    c0, c1 = _last(d["close"], -2), _last(d["close"])
    vals = _vals(orh=hi, orl=lo, close=c1)
    rng = hi - lo
    # The range is constant within a session, so compare both closes with today's range
    # (the bar before the first post-range bar has no range value yet).
    if math.isfinite(hi) and c0 <= hi < c1:
        return Verdict(1, 0.5 + 0.5 * min(1.0, (c1 - hi) / rng if rng > 0 else 1.0),
                       f"close broke above the {p.minutes}-minute opening range", vals)
    if math.isfinite(lo) and c0 >= lo > c1:
        return Verdict(-1, 0.5 + 0.5 * min(1.0, (lo - c1) / rng if rng > 0 else 1.0),
                       f"close broke below the {p.minutes}-minute opening range", vals)
    return Verdict(0, 0.0, "", vals)


@dataclass(frozen=True)
class Kind:
    params: type[_Params]
    indicators: Callable[[Any], dict[str, tuple[str, dict[str, Any]]]]
    run: Callable[[Any, Series, Mapping[str, np.ndarray]], Verdict]


KINDS: dict[str, Kind] = {
    "sma_cross": Kind(CrossParams, lambda p: {"fast": ("SMA", {"timeperiod": p.fast}),
                                              "slow": ("SMA", {"timeperiod": p.slow})},
                      _ma_cross("SMA")),
    "ema_cross": Kind(CrossParams, lambda p: {"fast": ("EMA", {"timeperiod": p.fast}),
                                              "slow": ("EMA", {"timeperiod": p.slow})},
                      _ma_cross("EMA")),
    "macd_cross": Kind(MacdParams, lambda p: {"macd": ("MACD", {
        "fastperiod": p.fast, "slowperiod": p.slow, "signalperiod": p.signal})}, _macd),
    "rsi_reversion": Kind(RsiParams, lambda p: {"rsi": ("RSI", {"timeperiod": p.period})}, _rsi),
    "bbands_breakout": Kind(BbandsParams, lambda p: {"bb": ("BBANDS", {
        "timeperiod": p.period, "nbdevup": p.nbdev, "nbdevdn": p.nbdev})}, _bbands),
    "stochrsi_ema": Kind(StochRsiParams, lambda p: {
        "stochrsi": ("STOCHRSI", {"timeperiod": p.rsi_period, "fastk_period": p.fastk,
                                  "fastd_period": p.fastd}),
        "ema": ("EMA", {"timeperiod": p.ema_period})}, _stochrsi),
    "vwap_reclaim": Kind(VwapParams, lambda p: {"vwap": ("VWAP", {"nbdev1": p.nbdev})}, _vwap),
    "opening_range_breakout": Kind(OrbParams, lambda p: {
        "orb": ("ORB", {"minutes": p.minutes})}, _orb),
}


def spec_key(name: str, params: Mapping[str, Any]) -> str:
    """Return the canonical key of an indicator call, shared by every strategy using it."""
    return f"{name}(" + ",".join(f"{k}={v}" for k, v in sorted(params.items())) + ")"


class Strategy:
    """One configured strategy: its kind, validated parameters, weight and timeframe."""

    def __init__(self, name: str, kind: str, params: Mapping[str, Any] | None = None,
                 weight: float = 1.0, timeframe: str | None = None) -> None:
        """Validate the parameters of ``kind``.

        Raises:
            ConfigError: naming the strategy and the bad or unknown parameter.
        """
        if kind not in KINDS:
            raise ConfigError(f"strategy '{name}': unknown kind '{kind}'; known: {sorted(KINDS)}",
                              field=f"technical.strategies.{name}.kind")
        self.name, self.kind, self.weight, self.timeframe = name, kind, float(weight), timeframe
        try:
            self.params = KINDS[kind].params.model_validate(dict(params or {}))
        except PydanticError as exc:
            err = exc.errors()[0]
            where = ".".join(str(x) for x in err["loc"])
            raise ConfigError(f"strategy '{name}': params.{where}: {err['msg']}",
                              field=f"technical.strategies.{name}.params.{where}") from None
        self._roles = {role: (n, p) for role, (n, p) in KINDS[kind].indicators(self.params).items()}
        self.specs = {role: resolve(n, p, key=spec_key(n, p)) for role, (n, p) in self._roles.items()}

    def evaluate(self, outputs: Mapping[str, Mapping[str, np.ndarray]],
                 data: Mapping[str, np.ndarray]) -> Signal:
        """Return this strategy's signal on the last bar of ``data``."""
        series = {role: outputs[spec.key] for role, spec in self.specs.items()}
        v = KINDS[self.kind].run(self.params, series, data)
        if v.direction == 0:
            return Signal(self.name, self.kind, "flat", 0.0, "no rule fired", v.values,
                          self.timeframe or "")
        score = float(np.clip(v.direction * v.conviction, -1.0, 1.0))
        return Signal(self.name, self.kind, "long" if v.direction > 0 else "short", score,
                      v.rule, v.values, self.timeframe or "")
