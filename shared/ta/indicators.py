"""The indicator engine: every TA-Lib function by name, plus the session indicators.

TA-Lib's abstract API (``talib.abstract.Function``) is the catalogue: names, inputs, outputs,
parameters with defaults and types, and the lookback that validates a parameter set (TA-Lib
answers -1 when a value is out of its range).  Resolving a spec once yields a plan that calls
the same C routine through ``talib`` directly, because the abstract call wrapper costs about
4x the computation itself on 390 bars.  Candlestick patterns belong to pattern recognition
and are not offered here.
"""
from __future__ import annotations

import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from functools import cache, lru_cache
from typing import Any

import numpy as np
import talib
from talib import _ta_lib as _core
from talib import abstract

from shared.errors import ValidationError
from shared.ta import custom

_INT, _REAL, _MATYPE = 2, 0, 3
MAX_PERIOD = 100_000
#: Relative tolerance within which a tail recompute must match the full one.
TAIL_RTOL = 1e-10
#: Warm-up of a recursive indicator's tail recompute, in multiples of its longest period.
WARMUP_PERIODS = 40
#: Plain names users type, mapped to the TA-Lib or custom function they mean.
ALIASES = {
    "BOLLINGER": "BBANDS", "BOLLINGER_BANDS": "BBANDS", "STOCHASTIC": "STOCH",
    "STOCH_RSI": "STOCHRSI", "PARABOLIC_SAR": "SAR", "PSAR": "SAR", "WILLIAMS_R": "WILLR",
    "MONEY_FLOW": "MFI", "ON_BALANCE_VOLUME": "OBV", "RATE_OF_CHANGE": "ROC",
    "MOMENTUM": "MOM", "PLUSDI": "PLUS_DI", "MINUSDI": "MINUS_DI", "RELATIVE_VOLUME": "RVOL",
    "OPENING_RANGE": "ORB", "OR": "ORB", "PREMARKET": "PREMARKET", "PM": "PREMARKET",
}
#: The plainly named common indicators (all TA-Lib functions are available anyway).
COMMON = ("SMA", "EMA", "WMA", "DEMA", "TEMA", "RSI", "STOCH", "STOCHRSI", "MACD", "BBANDS",
          "ATR", "NATR", "ADX", "PLUS_DI", "MINUS_DI", "CCI", "MFI", "OBV", "WILLR", "ROC",
          "MOM", "SAR", "AROON")
# Running sums whose level depends on where the series starts.
_CUMULATIVE = frozenset({"OBV", "AD"})


@dataclass(frozen=True)
class ParamInfo:
    name: str
    kind: str  # "int", "real" or "matype"
    default: float
    minimum: float | None = None
    maximum: float | None = None


@dataclass(frozen=True)
class FunctionInfo:
    """What one indicator takes and gives (a catalogue entry)."""

    name: str
    group: str
    display_name: str
    inputs: tuple[str, ...]
    params: tuple[ParamInfo, ...]
    outputs: tuple[str, ...]
    custom: bool = False
    needs_time: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {"name": self.name, "group": self.group, "display_name": self.display_name,
                "inputs": list(self.inputs), "outputs": list(self.outputs),
                "params": [{"name": p.name, "type": p.kind, "default": p.default,
                            "min": p.minimum, "max": p.maximum} for p in self.params]}


_CUSTOM: dict[str, FunctionInfo] = {
    "VWAP": FunctionInfo("VWAP", "Session Indicators", "Session VWAP with sd bands",
                         ("high", "low", "close", "volume"),
                         (ParamInfo("nbdev1", "real", 1.0, 0.0, 10.0),
                          ParamInfo("nbdev2", "real", 2.0, 0.0, 10.0),
                          ParamInfo("include_premarket", "int", 0, 0, 1)),
                         ("vwap", "upper1", "lower1", "upper2", "lower2"), True, True),
    "RVOL": FunctionInfo("RVOL", "Session Indicators", "Relative volume (same time of day)",
                         ("volume",), (ParamInfo("sessions", "int", 10, 1, 250),
                                       ParamInfo("cumulative", "int", 1, 0, 1)),
                         ("rvol",), True, True),
    "ORB": FunctionInfo("ORB", "Session Indicators", "Opening range high/low",
                        ("high", "low"), (ParamInfo("minutes", "int", 15, 1, 390),),
                        ("orh", "orl"), True, True),
    "PREMARKET": FunctionInfo("PREMARKET", "Session Indicators", "Pre-market high/low",
                              ("high", "low"), (), ("pmh", "pml"), True, True),
}


def _flatten_inputs(names: Mapping[str, Any]) -> tuple[str, ...]:
    out: list[str] = []
    for v in names.values():
        out.extend(v if isinstance(v, list | tuple) else [v])
    return tuple(out)


@cache
def _talib_info(name: str) -> FunctionInfo:
    f = abstract.Function(name)
    info = f.info
    params = []
    for i, (pname, default) in enumerate(info["parameters"].items()):
        kind = {_INT: "int", _REAL: "real", _MATYPE: "matype"}.get(
            _core._ta_getOptInputParameterInfo(name.encode(), i)["type"], "real")
        lo, hi = (0, 8) if kind == "matype" else (None, None)
        params.append(ParamInfo(pname, kind, default, lo, hi))
    return FunctionInfo(name, info["group"], info["display_name"],
                        _flatten_inputs(info["input_names"]), tuple(params),
                        tuple(info["output_names"]))


@lru_cache(maxsize=1)
def catalogue() -> dict[str, FunctionInfo]:
    """Return every available indicator by name: TA-Lib's non-candlestick functions + custom."""
    names = [n for n in talib.get_functions() if not n.startswith("CDL")]
    out = {n: _talib_info(n) for n in sorted(names)}
    out.update(_CUSTOM)
    return out


def canonical_name(name: str) -> str:
    """Return the catalogue name for ``name`` (case-insensitive; plain aliases accepted).

    Raises:
        ValidationError: naming the unknown indicator.
    """
    key = str(name).strip().upper().replace("-", "_").replace(" ", "_")
    key = ALIASES.get(key, key)
    if key not in catalogue():
        raise ValidationError(f"unknown indicator '{name}'; GET /api/v1/indicators lists them",
                              field="names", details={"indicator": name})
    return key


@dataclass(frozen=True)
class IndicatorSpec:
    """One resolved, validated indicator with its parameters and how to run it."""

    key: str
    name: str
    params: tuple[tuple[str, Any], ...]
    info: FunctionInfo
    lookback: int
    history: str = "window"  # window | recursive | cumulative | full | session
    tail_bars: int | None = None  # trailing bars that reproduce the last value (None: all)
    _fn: Callable[..., Any] | None = field(default=None, compare=False, repr=False)

    @property
    def param_dict(self) -> dict[str, Any]:
        return dict(self.params)

    @property
    def min_bars(self) -> int:
        return self.lookback + 1

    def __post_init__(self) -> None:
        # Precomputed once: compute() runs thousands of times per batch, and its Python
        # overhead is measured against a bare TA-Lib loop.
        object.__setattr__(self, "_args", tuple(v for _, v in self.params))
        object.__setattr__(self, "_inputs", self.info.inputs)
        object.__setattr__(self, "_outputs", self.info.outputs)

    def _too_short(self, n: int) -> ValidationError:
        return ValidationError(
            f"{self.key} needs at least {self.min_bars} bars, got {n}", field="series",
            details={"indicator": self.key, "min_bars": self.min_bars, "bars": n})

    def compute(self, data: Mapping[str, np.ndarray], ts_ns: Any = None) -> dict[str, np.ndarray]:
        """Return each output series (same length as the inputs, NaN during warm-up).

        Raises:
            ValidationError: when an input series is missing or too short.
        """
        if self.info.custom:
            first = next(iter(data.values()))
            n = first.shape[-1] if isinstance(first, np.ndarray) else len(first)
            if n < self.min_bars:
                raise self._too_short(n)
            return _compute_custom(self, data, ts_ns)
        try:
            arrays = [data[i] for i in self._inputs]  # type: ignore[attr-defined]
        except KeyError as exc:
            raise ValidationError(f"{self.key} needs the '{exc.args[0]}' series",
                                  field=str(exc.args[0])) from None
        n = len(arrays[0])
        if n <= self.lookback:
            raise self._too_short(n)
        # Positional parameters: TA-Lib's Cython signatures follow the abstract info's order,
        # and keyword parsing costs as much as a short indicator itself.
        res = self._fn(*arrays, *self._args)  # type: ignore[misc,attr-defined]
        outs = self._outputs  # type: ignore[attr-defined]
        return {outs[0]: res} if len(outs) == 1 else dict(zip(outs, res, strict=True))


def _compute_custom(spec: IndicatorSpec, data: Mapping[str, np.ndarray],
                    ts_ns: Any) -> dict[str, np.ndarray]:
    if ts_ns is None:
        raise ValidationError(f"{spec.key} needs bar timestamps", field="timestamps")
    p = spec.param_dict
    try:
        if spec.name == "VWAP":
            return custom.vwap(ts_ns, data["high"], data["low"], data["close"], data["volume"],
                               nbdev1=p["nbdev1"], nbdev2=p["nbdev2"],
                               include_premarket=bool(p["include_premarket"]))
        if spec.name == "RVOL":
            return {"rvol": custom.relative_volume(ts_ns, data["volume"],
                                                   sessions=p["sessions"],
                                                   cumulative=bool(p["cumulative"]))}
        if spec.name == "ORB":
            return custom.opening_range(ts_ns, data["high"], data["low"], minutes=p["minutes"])
        return custom.premarket_range(ts_ns, data["high"], data["low"])
    except KeyError as exc:
        raise ValidationError(f"{spec.key} needs the '{exc.args[0]}' series",
                              field=str(exc.args[0])) from None


def _coerce(info: FunctionInfo, p: ParamInfo, value: Any, key: str) -> Any:
    where = f"{key}.{p.name}"
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(f"parameter {where} must be a number, was {value!r}", field=where)
    try:
        num = float(value)
    except ValueError:
        raise ValidationError(f"parameter {where} must be a number, was {value!r}",
                              field=where) from None
    if not math.isfinite(num):
        raise ValidationError(f"parameter {where} must be finite, was {value!r}", field=where)
    if p.kind in ("int", "matype"):
        if num != int(num):
            raise ValidationError(f"parameter {where} must be an integer, was {value!r}",
                                  field=where)
        num = int(num)
        if abs(num) > MAX_PERIOD:
            raise ValidationError(f"parameter {where} is out of range, was {value!r}", field=where)
    if (p.minimum is not None and num < p.minimum) or (p.maximum is not None and num > p.maximum):
        raise ValidationError(f"parameter {where} must be between {p.minimum} and {p.maximum}, "
                              f"was {value!r}", field=where)
    return num


_SPEC = re.compile(r"^\s*([A-Za-z_][A-Za-z0-9_ -]*?)\s*(?:[:(](.*?)\)?)?\s*$")


def parse_spec_text(text: str) -> tuple[str, dict[str, Any] | list[str]]:
    """Split ``"SMA:20"``, ``"BBANDS:timeperiod=20:nbdevup=2"`` or ``"RSI(7)"`` into parts.

    Raises:
        ValidationError: when the text is not of that form.
    """
    m = _SPEC.match(text or "")
    if not m:
        raise ValidationError(f"bad indicator spec '{text}'; use NAME or NAME:20 or "
                              "NAME:timeperiod=20", field="names")
    name, rest = m.group(1), m.group(2)
    if not rest:
        return name, {}
    parts = [x for x in re.split(r"[:;|]", rest.replace(" ", "")) if x]
    if all("=" in x for x in parts):
        return name, dict(x.split("=", 1) for x in parts)
    if any("=" in x for x in parts):
        raise ValidationError(f"bad indicator spec '{text}': mix of positional and named "
                              "parameters", field="names")
    return name, parts


def resolve(name: str, params: Mapping[str, Any] | list[Any] | None = None,
            key: str | None = None) -> IndicatorSpec:
    """Return the validated spec of indicator ``name`` with ``params`` (named or positional).

    Raises:
        ValidationError: naming an unknown indicator, an unknown parameter or a bad value.
    """
    cname = canonical_name(name)
    return _resolve(cname, _freeze(params), key)


def _freeze(params: Mapping[str, Any] | list[Any] | None) -> Any:
    if params is None:
        return ()
    if isinstance(params, Mapping):
        return tuple(sorted((str(k), v) for k, v in params.items()))
    return tuple(params)


@lru_cache(maxsize=4096)
def _resolve(cname: str, params: tuple[Any, ...], key: str | None) -> IndicatorSpec:
    info = catalogue()[cname]
    label = key or cname
    named: dict[str, Any]
    if params and not isinstance(params[0], tuple):
        if len(params) > len(info.params):
            raise ValidationError(f"{label} takes at most {len(info.params)} parameters, "
                                  f"got {len(params)}", field=f"{label}.params")
        named = {p.name: v for p, v in zip(info.params, params, strict=False)}
    else:
        named = dict(params)
    known = {p.name: p for p in info.params}
    unknown = sorted(set(named) - set(known))
    if unknown:
        raise ValidationError(f"{label} has no parameter '{unknown[0]}'; it takes "
                              f"{sorted(known) or 'none'}", field=f"{label}.{unknown[0]}")
    values = {p.name: (_coerce(info, p, named[p.name], label) if p.name in named else p.default)
              for p in info.params}
    if info.custom:
        # Session indicators give a value from the first bar; their history is the session.
        return IndicatorSpec(label, cname, tuple(values.items()), info, 0, "session", None)
    f = abstract.Function(cname)
    f.set_parameters(**values)
    lookback = f.lookback
    if lookback < 0:
        raise ValidationError(f"parameters of {label} are out of TA-Lib's range: {values}",
                              field=f"{label}.params", details={"params": values})
    # talib wraps each function to accept pandas/polars Series; we always pass float64 numpy
    # arrays, so call the wrapped C routine itself and skip the per-call type sniffing.
    fn = getattr(talib, cname)
    spec = IndicatorSpec(label, cname, tuple(values.items()), info, lookback,
                         "window", None, getattr(fn, "__wrapped__", fn))
    return _classify(spec)


def _probe_data(n: int) -> dict[str, np.ndarray]:
    rng = np.random.default_rng(12345)
    close = 100.0 * np.exp(np.cumsum(rng.normal(0, 0.01, n)))
    spread = close * rng.uniform(0.001, 0.01, n)
    return {"open": close + rng.normal(0, 0.1, n), "high": close + spread,
            "low": close - spread, "close": close,
            "volume": rng.integers(1_000, 100_000, n).astype("float64"),
            "periods": np.full(n, 10.0)}


def _close(a: dict[str, np.ndarray], b: dict[str, np.ndarray], k: int) -> bool:
    for o in a:
        x, y = a[o][-k:], b[o][-k:]
        scale = max(1.0, float(np.nanmax(np.abs(x)))) if np.isfinite(x).any() else 1.0
        if not np.allclose(x, y, rtol=TAIL_RTOL, atol=TAIL_RTOL * scale, equal_nan=True):
            return False
    return True


def _classify(spec: IndicatorSpec) -> IndicatorSpec:
    """Return ``spec`` with how many trailing bars reproduce its latest values.

    A "window" function needs ``lookback + 1`` bars; EMA-seeded and Wilder-smoothed ones
    ("recursive") need a warm-up long enough for the seed to fade below ``TAIL_RTOL``; a few
    (SAR's trend state, running sums) never forget their start and are recomputed in full,
    except OBV/AD, whose level is re-anchored instead.  This is measured on a probe series
    rather than kept as a hand-maintained list of 138 functions.  Equality is to a relative
    1e-10, not bit-for-bit: TA-Lib's SMA keeps a running sum whose rounding depends on where
    the series starts.
    """
    if spec.name in _CUMULATIVE:
        return _with_history(spec, "cumulative", 2)
    k = 40
    periods = [int(v) for n, v in spec.params if "period" in n and isinstance(v, int)]
    warm = WARMUP_PERIODS * max(periods + [10])
    n = spec.lookback + warm + k + 50
    data = _probe_data(n)
    full = spec.compute(data)
    for history, need in (("window", spec.lookback + 1), ("recursive", spec.lookback + warm + 1)):
        tail = spec.compute({c: a[n - k - need + 1:] for c, a in data.items()})
        if _close(full, tail, k):
            return _with_history(spec, history, need)
    return _with_history(spec, "full", None)


def _with_history(spec: IndicatorSpec, history: str, tail_bars: int | None) -> IndicatorSpec:
    return IndicatorSpec(spec.key, spec.name, spec.params, spec.info, spec.lookback, history,
                         tail_bars, spec._fn)


def parse_specs(texts: list[str]) -> list[IndicatorSpec]:
    """Return specs for texts like ``["SMA:20", "RSI", "BBANDS:timeperiod=20"]`` (deduplicated).

    Raises:
        ValidationError: naming the first bad spec.
    """
    out: dict[str, IndicatorSpec] = {}
    for text in texts:
        name, params = parse_spec_text(text)
        spec = resolve(name, params, key=text.strip())
        out.setdefault(spec.key, spec)
    return list(out.values())
