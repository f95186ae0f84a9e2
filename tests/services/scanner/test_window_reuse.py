"""Scans between two closing bars skip the read and reuse the last answer and panel, yet
equal a fresh scan at every step; the stacked grid equals the general one."""
from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from services.scanner.bar_cache import may_have_new
from services.scanner.service import ScannerService, _grid
from shared.market.calendar import get_calendar
from shared.market.clock import bar_visible
from shared.market.frames import BarArrays
from shared.market.resample import bucket_starts
from shared.market.timeframes import parse_timeframe
from tests.conftest import replay_market
from tests.services.scanner.test_incremental import _panels_equal

MIN = 60_000_000_000


@pytest.mark.parametrize("tf_name", ["1m", "5m", "15m", "1h", "1d"])
def test_may_have_new_agrees_with_every_later_bar(tf_name: str) -> None:
    """Against brute force: every valid bar open after ``last`` and its visibility."""
    cal = get_calendar("XNYS")
    tf = parse_timeframe(tf_name)
    # a regular session, the early close after Thanksgiving and the next session
    minutes = np.concatenate([cal.session_minutes(d).asi8 for d in
                              ("2024-11-27", "2024-11-29", "2024-12-02")])
    opens = np.unique(bucket_starts(minutes, tf_name, cal))
    opens = opens[opens >= 0]
    step = max(1, len(opens) // 40)
    for i in list(range(0, len(opens) - 1, step)) + [len(opens) - 2]:
        last, later = int(opens[i]), opens[i + 1:]
        for now in range(last, int(later[-1]) + 400 * MIN, 7 * MIN):
            assert may_have_new(last, now, tf, cal) == bool(
                bar_visible(later, tf_name, cal, now).any()), (tf_name, last, now)


def _bars(ts: list[int], seed: int) -> BarArrays:
    rng = np.random.default_rng(seed)
    n = len(ts)
    prices = (rng.random(n) for _ in range(4))
    return BarArrays(np.array(ts, "int64"), *prices, rng.integers(1, 100, n),
                     np.full(n, np.nan), np.full(n, -1, "int64"))


def _general(series: list[BarArrays]) -> tuple[np.ndarray, dict[str, np.ndarray]]:
    axis = np.unique(np.concatenate([b.ts for b in series]))
    out = {c: np.full((len(series), axis.size), np.nan)
           for c in ("open", "high", "low", "close", "volume")}
    for i, b in enumerate(series):
        for c in out:
            out[c][i, np.searchsorted(axis, b.ts)] = getattr(b, c)
    return axis, out


@pytest.mark.parametrize("times", [[[1, 2, 3]] * 3, [[1, 2, 3], [2, 3], [1, 3, 4]]])
def test_grid_equals_the_general_union(times: list[list[int]]) -> None:
    series = [_bars(t, i) for i, t in enumerate(times)]
    axis, g = _grid(series, len(series))
    ref_axis, ref = _general(series)
    np.testing.assert_array_equal(axis, ref_axis)
    for c, v in ref.items():
        np.testing.assert_array_equal(g[c], v)
        assert g[c].dtype == np.float64


def test_minute_steps_equal_fresh_scans_while_reusing_between_bars(settings, db
                                                                   ) -> None:  # type: ignore[no-untyped-def]
    ctl, dm = replay_market(settings, db, "2024-03-05", "2024-03-06", pace="step")
    kept = ScannerService(settings, db, market=dm)
    syms = [u["symbol"] for u in kept.universe()[:6]]
    ctl.advance("2024-03-05T14:50Z")
    reads = []
    real = dm.get_bars_many

    def counting(*a, **kw):  # type: ignore[no-untyped-def]
        reads.append(a[1] if len(a) > 1 else kw.get("timeframe"))
        return real(*a, **kw)

    prev, reused = kept.panel(syms), 0
    dm.get_bars_many = counting  # type: ignore[method-assign]
    for _ in range(16):  # 14:51 .. 15:06: three 5m bars close, the window's start moves
        ctl.step(1)
        n = len(reads)
        got = kept.panel(syms)
        if got is prev:
            reused += 1
            assert len(reads) == n  # nothing read for a reused panel
        _panels_equal(got, ScannerService(settings, db, market=dm).panel(syms))
        f = kept.filters_for("momentum", {})
        assert kept.run_scan("momentum", {}, 10, syms)["results"] == \
            ScannerService(settings, db, market=dm).run_scan("momentum", {}, 10,
                                                            syms)["results"]
        assert f == kept.filters_for("momentum", {})
        prev = got
    assert reused >= 8  # most steps fall between two closing 5m bars
    # a rewound clock starts over (no bar cached after the new now is served)
    ctl.configure(replay_start="2024-03-05", replay_end="2024-03-06")
    ctl.advance("2024-03-05T14:52Z")
    back = kept.panel(syms)
    _panels_equal(back, ScannerService(settings, db, market=dm).panel(syms))
    assert pd.Timestamp(int(back.ts[-1]), tz="UTC") <= pd.Timestamp("2024-03-05T14:45Z")
