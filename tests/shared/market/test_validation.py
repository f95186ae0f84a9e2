"""Validation catches each kind of bad row, with its reason, and scores the batch."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from shared.errors import ValidationError
from shared.market import make_frame, validate_bars


def _good(calendar, n=10):
    idx = calendar.session_minutes("2024-03-05")[:n]
    c = np.full(n, 10.0)
    return make_frame(idx.asi8, c, c + 0.1, c - 0.1, c, np.full(n, 100))


@pytest.mark.parametrize("column,value,reason", [
    ("high", 9.95, "high_below_open_close"),
    ("low", 10.05, "low_above_open_close"),
    ("volume", -1, "negative_volume"),
    ("open", 0.0, "non_positive_price"),
    ("close", np.nan, "missing_value"),
])
def test_each_bad_row_is_rejected_with_its_reason(calendar, column, value, reason):
    df = _good(calendar)
    df[column] = df[column].astype("float64")
    df.iloc[4, df.columns.get_loc(column)] = value
    rep = validate_bars(df, "1m", calendar)
    assert rep.rows_rejected == 1 and rep.counts == {reason: 1}
    assert list(rep.rejects["reason"]) == [reason]
    assert len(rep.valid) == 9 and rep.quality < 1


def test_high_below_low_and_non_numeric(calendar):
    df = _good(calendar).astype({"high": "object"})
    df.iloc[1, df.columns.get_loc("high")] = "abc"
    df2 = _good(calendar)
    df2.iloc[2, df2.columns.get_loc("high")] = 9.0
    df2.iloc[2, df2.columns.get_loc("low")] = 9.5
    df2.iloc[2, df2.columns.get_loc("open")] = 9.2
    df2.iloc[2, df2.columns.get_loc("close")] = 9.2
    assert validate_bars(df, "1m", calendar).counts == {"non_numeric": 1}
    assert validate_bars(df2, "1m", calendar).counts == {"high_below_open_close": 1}


def test_duplicates_order_outside_session_and_gaps(calendar):
    df = _good(calendar)
    df = pd.concat([df, df.iloc[[3]]])  # a duplicate, out of order
    night = make_frame(np.array([pd.Timestamp("2024-03-05T23:00Z").value]), [10.0], [10.1],
                       [9.9], [10.0], [1])
    df = pd.concat([df, night])
    df = df.drop(df.index[6])  # a gap
    rep = validate_bars(df, "1m", calendar)
    assert rep.counts == {"duplicate_timestamp": 1, "outside_session": 1}
    assert rep.out_of_order >= 1
    assert rep.valid.index.is_monotonic_increasing and rep.valid.index.is_unique
    assert rep.gaps == 1 and rep.expected == 10
    assert rep.quality == pytest.approx(9 / 11 * 0.9)


def test_misaligned_resampled_bars(calendar):
    idx = calendar.session_minutes("2024-03-05")[[0, 5, 12]]
    c = np.full(3, 10.0)
    rep = validate_bars(make_frame(idx.asi8, c, c, c, c, [1, 1, 1]), "5m", calendar)
    assert rep.counts == {"misaligned_timestamp": 1}


def test_missing_column_rejects_the_whole_batch(calendar):
    with pytest.raises(ValidationError, match="volume"):
        validate_bars(_good(calendar).drop(columns=["volume"]), "1m", calendar)
