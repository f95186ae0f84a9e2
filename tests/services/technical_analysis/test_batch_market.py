"""The batch analysis on the real data manager: one batched read, cache across the night."""
from __future__ import annotations

from pathlib import Path

from services.technical_analysis.service import TechnicalAnalysisService
from shared.db import Database, migrate
from shared.market import ClockController, DataManager
from tests.conftest import make_settings


def _service(tmp_path: Path, now: str) -> tuple[TechnicalAnalysisService, DataManager]:
    settings = make_settings(tmp_path, market__universe_size=20,
                             market__data_cache_dir=str(tmp_path / "data-cache"))
    db = Database.from_settings(settings)
    migrate(db)
    ctl = ClockController(db, settings.market.clock)
    ctl.reset()
    ctl.configure(pace="max")
    ctl.advance(now)
    dm = DataManager(settings, db, clock=ctl.clock, owner=True)
    return TechnicalAnalysisService(settings, db, market=dm), dm


def test_repeat_analyze_overnight_is_served_from_cache(tmp_path: Path):
    # the clock at the next session's open: the last bar closed the evening before
    svc, dm = _service(tmp_path, "2024-01-04T14:30Z")
    syms = [s["symbol"] for s in dm.get_symbols("equity")][:5]
    first = svc.analyze(syms, "1m", bars=390, strategies=False, store=False)
    assert all("error" not in r for r in first["results"].values())
    assert {r["bar_ts"] for r in first["results"].values()} == {"2024-01-03T20:59:00+00:00"}
    requests = dm.counters["requests"]
    again = svc.analyze(syms, "1m", bars=390, strategies=False, store=False)
    assert dm.counters["requests"] == requests  # nothing read: no bar has closed since
    assert again["results"] == first["results"]
    # once the first bar of the new session has closed, the states are extended by it
    ClockController(dm.db, dm.settings.market.clock).advance("2024-01-04T14:31Z")
    dm.clock.invalidate()
    later = svc.analyze(syms, "1m", bars=390, strategies=False, store=False)
    assert dm.counters["requests"] > requests
    assert {r["bar_ts"] for r in later["results"].values()} == {"2024-01-04T14:30:00+00:00"}


def test_batch_analyze_equals_one_by_one(tmp_path: Path):
    svc, dm = _service(tmp_path, "2024-01-04T16:00Z")
    syms = [s["symbol"] for s in dm.get_symbols("equity")][:4]
    batch = svc.analyze(syms, "5m", store=False, use_cache=False)["results"]
    for s in syms:
        one = svc.analyze([s], "5m", store=False, use_cache=False)["results"][s]
        assert one == batch[s]


def test_cache_drops_bars_after_a_rewound_clock(tmp_path: Path):
    svc, dm = _service(tmp_path, "2024-01-04T16:00Z")
    syms = [s["symbol"] for s in dm.get_symbols("equity")][:3]
    late = svc.analyze(syms, "1m", strategies=False, store=False)["results"]
    assert {r["bar_ts"] for r in late.values()} == {"2024-01-04T15:59:00+00:00"}
    ctl = ClockController(dm.db, dm.settings.market.clock)
    ctl.configure(replay_start="2024-01-03", replay_end="2024-01-05")  # back to an earlier open
    ctl.advance("2024-01-04T15:00Z")
    dm.clock.invalidate()
    back = svc.analyze(syms, "1m", strategies=False, store=False)["results"]
    fresh = svc.analyze(syms, "1m", strategies=False, store=False, use_cache=False)["results"]
    assert {r["bar_ts"] for r in back.values()} == {"2024-01-04T14:59:00+00:00"}
    assert back == fresh


def test_the_series_cache_holds_its_megabytes_however_many_symbols_pass(tmp_path: Path):
    """Issue 15: each cycle's new candidates used to add ~220 KB of series to a cache of
    5,000 until it filled; it is bounded by bytes, least recently used series dropped first,
    and a series extended in place is counted at its new size."""
    svc, dm = _service(tmp_path, "2024-01-04T16:00Z")
    syms = [s["symbol"] for s in dm.get_symbols("equity")][:12]
    one = svc.analyze(syms[:1], "1m", strategies=False, store=False)
    size = svc._cache.currsize
    assert len(svc._cache) == 1 and size == svc._cache[(syms[0], "1m")].nbytes > 100_000
    bound = int(size * 4.5)  # room for four of these series
    from shared.cache import SizedLRU

    svc._cache = SizedLRU(bound)
    for i in range(0, 12, 3):  # twelve symbols pass, three per "cycle"
        got = svc.analyze(syms[i:i + 3], "1m", strategies=False, store=False)["results"]
        assert all("error" not in r for r in got.values())
        assert svc._cache.currsize <= bound and len(svc._cache) <= 4
    assert set(k[0] for k in svc._cache) >= set(syms[9:12])  # the latest stayed
    # a cached series extended by a new bar is re-counted (its arrays grew)
    before = svc._cache[(syms[11], "1m")].nbytes
    ClockController(dm.db, dm.settings.market.clock).advance("2024-01-04T16:05Z")
    dm.clock.invalidate()
    svc.analyze(syms[11:12], "1m", strategies=False, store=False)
    grown = svc._cache[(syms[11], "1m")]
    assert grown.nbytes >= before
    assert svc._cache.currsize == sum(s.nbytes for s in svc._cache.values())
    # the answers are those of an uncached analysis
    assert svc.analyze(syms[11:12], "1m", strategies=False, store=False)["results"] == \
        svc.analyze(syms[11:12], "1m", strategies=False, store=False, use_cache=False)["results"]
    assert one["results"]
