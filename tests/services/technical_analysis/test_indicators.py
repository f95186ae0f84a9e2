"""The indicator engine agrees with TA-Lib called directly and refuses bad requests."""
from __future__ import annotations

import numpy as np
import pytest
import talib

from shared.errors import ValidationError
from shared.ta import COMMON, catalogue, parse_specs, resolve
from tests.services.technical_analysis.helpers import random_walk

DATA = random_walk(400)
DIRECT = {
    "SMA": lambda d: talib.SMA(d["close"], 30), "EMA": lambda d: talib.EMA(d["close"], 30),
    "WMA": lambda d: talib.WMA(d["close"], 30), "DEMA": lambda d: talib.DEMA(d["close"], 30),
    "TEMA": lambda d: talib.TEMA(d["close"], 30), "RSI": lambda d: talib.RSI(d["close"], 14),
    "STOCH": lambda d: talib.STOCH(d["high"], d["low"], d["close"]),
    "STOCHRSI": lambda d: talib.STOCHRSI(d["close"]), "MACD": lambda d: talib.MACD(d["close"]),
    "BBANDS": lambda d: talib.BBANDS(d["close"]),
    "ATR": lambda d: talib.ATR(d["high"], d["low"], d["close"]),
    "NATR": lambda d: talib.NATR(d["high"], d["low"], d["close"]),
    "ADX": lambda d: talib.ADX(d["high"], d["low"], d["close"]),
    "PLUS_DI": lambda d: talib.PLUS_DI(d["high"], d["low"], d["close"]),
    "MINUS_DI": lambda d: talib.MINUS_DI(d["high"], d["low"], d["close"]),
    "CCI": lambda d: talib.CCI(d["high"], d["low"], d["close"]),
    "MFI": lambda d: talib.MFI(d["high"], d["low"], d["close"], d["volume"]),
    "OBV": lambda d: talib.OBV(d["close"], d["volume"]),
    "WILLR": lambda d: talib.WILLR(d["high"], d["low"], d["close"]),
    "ROC": lambda d: talib.ROC(d["close"]), "MOM": lambda d: talib.MOM(d["close"]),
    "SAR": lambda d: talib.SAR(d["high"], d["low"]),
    "AROON": lambda d: talib.AROON(d["high"], d["low"]),
}


@pytest.mark.parametrize("name", COMMON)
def test_common_indicators_equal_talib_called_directly(name: str) -> None:
    got = resolve(name).compute(DATA)
    want = DIRECT[name](DATA)
    want = want if isinstance(want, tuple) else (want,)
    assert len(got) == len(want)
    for g, w in zip(got.values(), want, strict=True):
        np.testing.assert_array_equal(g, w)


def test_parameters_reach_talib() -> None:
    spec = parse_specs(["BBANDS:timeperiod=10:nbdevup=1.5:matype=1"])[0]
    got = spec.compute(DATA)
    want = talib.BBANDS(DATA["close"], timeperiod=10, nbdevup=1.5, nbdevdn=2.0, matype=1)
    np.testing.assert_array_equal(got["upperband"], want[0])
    assert parse_specs(["rsi(7)"])[0].param_dict == {"timeperiod": 7}


def test_every_catalogue_function_runs_by_name() -> None:
    cat = catalogue()
    assert len([n for n in cat if not cat[n].custom]) >= 130
    assert not any(n.startswith("CDL") for n in cat)
    data = {**DATA, "periods": np.full(400, 10.0)}
    ts = np.arange(400, dtype="int64") * 60_000_000_000 + 1_704_897_000_000_000_000
    for name in cat:
        out = resolve(name).compute(data, ts)
        assert all(v.shape == (400,) for v in out.values()), name


def test_plain_aliases_map_to_talib() -> None:
    assert resolve("bollinger").name == "BBANDS"
    assert resolve("stochastic").name == "STOCH"
    assert resolve("Parabolic SAR").name == "SAR"


@pytest.mark.parametrize(("text", "field"), [
    ("NOPE", "names"),
    ("RSI:timeperiod=1", "RSI:timeperiod=1.params"),
    ("SMA:period=5", "SMA:period=5.period"),
    ("SMA:abc", "SMA:abc.timeperiod"),
    ("SMA:2.5", "SMA:2.5.timeperiod"),
    ("MA:timeperiod=5:matype=9", "MA:timeperiod=5:matype=9.matype"),
    ("SMA:1:2", "SMA:1:2.params"),
])
def test_bad_names_and_parameters_are_named(text: str, field: str) -> None:
    with pytest.raises(ValidationError) as exc:
        parse_specs([text])
    assert exc.value.field == field


def test_too_short_series_says_how_many_bars() -> None:
    with pytest.raises(ValidationError, match="needs at least 30 bars, got 10"):
        resolve("SMA").compute({k: v[:10] for k, v in DATA.items()})
