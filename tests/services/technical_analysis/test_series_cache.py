"""Appending bars to a cached series gives what a full recompute gives, reading only a tail."""
from __future__ import annotations

import numpy as np
import pytest

from shared.ta import SeriesState, parse_specs
from shared.ta.indicators import TAIL_RTOL
from tests.services.technical_analysis.helpers import random_walk, session_ts

DAYS = ["2024-01-08", "2024-01-09", "2024-01-10", "2024-01-11", "2024-01-12", "2024-01-16"]
TS = np.concatenate([session_ts(d, 390, minutes=1) for d in DAYS])
DATA = random_walk(TS.size, seed=3)
NAMES = ["SMA:20", "WILLR", "EMA:20", "RSI:14", "MACD", "ATR:14", "ADX:14", "BBANDS:20",
         "STOCH", "STOCHRSI:14", "OBV", "AD", "SAR", "MININDEX:10", "VWAP", "RVOL:sessions=3",
         "ORB", "PREMARKET"]


@pytest.mark.parametrize("step", [1, 7])
def test_append_equals_full_recompute(step: int) -> None:
    specs = parse_specs(NAMES)
    start = TS.size - 400
    state = SeriesState(specs, TS[:start], {k: v[:start] for k, v in DATA.items()})
    for a in range(start, TS.size, step):
        b = min(a + step, TS.size)
        state.append(TS[a:b], {k: v[a:b] for k, v in DATA.items()})
    full = SeriesState(specs, TS, DATA)
    for spec in specs:
        for out, series in full.outputs[spec.key].items():
            got = state.outputs[spec.key][out]
            if spec.history in ("session", "full"):
                np.testing.assert_array_equal(got, series, err_msg=spec.key)
            else:
                scale = max(1.0, float(np.nanmax(np.abs(series))))
                np.testing.assert_allclose(got, series, rtol=TAIL_RTOL, atol=TAIL_RTOL * scale,
                                           err_msg=spec.key)


def test_append_reads_a_tail_not_the_history() -> None:
    specs = parse_specs(["SMA:20", "RSI:14", "VWAP"])
    n = TS.size - 1
    state = SeriesState(specs, TS[:n], {k: v[:n] for k, v in DATA.items()})
    state.append(TS[n:], {k: v[n:] for k, v in DATA.items()})
    # SMA 20 bars + RSI warm-up (40 x 14 + 14) + the current 390-bar session, not 3 x 2340.
    assert state.recomputed_bars == 20 + (14 + 40 * 14 + 1) + 390
    assert state.recomputed_bars < 3 * TS.size / 5


def test_append_refuses_bars_out_of_order() -> None:
    state = SeriesState(parse_specs(["SMA:5"]), TS[:50], {k: v[:50] for k, v in DATA.items()})
    with pytest.raises(ValueError, match="after the last cached bar"):
        state.append(TS[49:50], {k: v[49:50] for k, v in DATA.items()})


def test_batch_build_equals_one_by_one() -> None:
    from shared.ta.series_cache import build_states

    specs = parse_specs(["RSI:14", "VWAP", "RVOL:sessions=2", "ORB"])
    other = random_walk(TS.size, seed=9)
    short_ts = TS[:700]
    items = [(TS, DATA), (TS, other), (short_ts, {k: v[:700] for k, v in other.items()})]
    batch = build_states(specs, items)
    for state, (ts, d) in zip(batch, items, strict=True):
        alone = SeriesState(specs, ts, d)
        for spec in specs:
            for out, series in alone.outputs[spec.key].items():
                np.testing.assert_array_equal(state.outputs[spec.key][out], series)
