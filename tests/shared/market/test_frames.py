"""``BarArrays``: read-only arrays, and the slicing helpers the services use on them."""
from __future__ import annotations

import numpy as np
import pytest

from shared.market.frames import BarArrays, empty_arrays, make_frame


def _bars(ts: list[int]) -> BarArrays:
    n = len(ts)
    close = 100.0 + np.arange(n)
    return BarArrays.from_frame(make_frame(np.array(ts), close, close + 1, close - 1, close,
                                           np.arange(n) * 10, source="sim"))


def test_columns_have_the_documented_dtypes_and_are_read_only() -> None:
    b = _bars([1, 2, 3])
    assert [b.ts.dtype, b.open.dtype, b.volume.dtype, b.vwap.dtype, b.trade_count.dtype] == \
        [np.int64, np.float64, np.int64, np.float64, np.int64]
    assert np.isnan(b.vwap).all() and (b.trade_count == -1).all()
    with pytest.raises(ValueError, match="read-only"):
        b.close[0] = 1.0
    assert b.ohlcv()["volume"].dtype == np.float64


def test_tail_since_and_then() -> None:
    b = _bars([10, 20, 30, 40])
    assert b.tail(2).ts.tolist() == [30, 40] and b.tail(9) is b
    assert b.since(20).ts.tolist() == [20, 30, 40] and b.since(5) is b
    assert len(b.since(41)) == 0
    joined = b.tail(1).then(_bars([50, 60]))
    assert joined.ts.tolist() == [40, 50, 60] and joined.close.tolist() == [103.0, 100.0, 101.0]
    assert joined.source == "sim" and not joined.close.flags.writeable
    empty = empty_arrays()
    assert b.then(empty) is b and empty.then(b) is b
