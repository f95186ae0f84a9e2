"""What the service keeps between calls stays bounded: the row caches hold only a group's last
call, and a symbol nobody asked about for a day loses its kept window and cached rows."""
from __future__ import annotations

from services.pattern_analysis.repository import _RowCache
from services.pattern_analysis.service import IDLE_NS, PatternService
from tests.conftest import make_settings
from tests.services.pattern_analysis.series import random_walk
from tests.services.pattern_analysis.test_cached_equals_fresh import BatchSource


def test_a_group_keeps_only_its_last_calls_items() -> None:
    cache, built = _RowCache(max_groups=2), []

    def build(key, source):  # type: ignore[no-untyped-def]
        built.append(key)
        return (key, source)

    assert cache.get_all("g", [("a", (1.0,)), ("b", (2.0,))], build) == [("a", (1.0,)),
                                                                        ("b", (2.0,))]
    assert cache.get_all("g", [("a", (1.0,))], build) == [("a", (1.0,))]
    assert built == ["a", "b"]  # "a" reused
    cache.get_all("g", [("b", (2.0,))], build)
    assert built == ["a", "b", "b"]  # "b" left the group with the call that skipped it
    cache.get_all("g", [("b", (-0.0,))], build)  # equal to 0.0, yet not the same row
    cache.get_all("g", [("b", (0.0,))], build)
    assert built[-2:] == ["b", "b"]
    cache.get_all(("S", "1m", "x"), [("c", ())], build)
    cache.get_all(("T", "1m"), [("d", ())], build)
    assert len(cache._groups) == 2  # "g" went first: the bound holds  # noqa: SLF001
    cache.retain({("T", "1m"), ("U", "1m")})
    assert list(cache._groups) == [("T", "1m")]  # noqa: SLF001


def test_a_symbol_idle_for_a_day_is_forgotten(tmp_path, db) -> None:  # type: ignore[no-untyped-def]
    settings = make_settings(tmp_path, patterns__lookback_bars=60)
    n = 1440 + 200
    src = BatchSource({"A": random_walk(1, n=n), "B": random_walk(2, n=n)})
    svc = PatternService(settings, db, src)
    src.minute = 100
    svc.patterns_many(["A", "B"], "1m")
    assert {k[0] for k in svc._recent} == {"A", "B"}  # noqa: SLF001
    assert {g[0] for g in svc.repo._dicts._groups} == {"A", "B"}  # noqa: SLF001
    src.minute = 100 + IDLE_NS // 60_000_000_000 - 1
    svc.patterns_many(["B"], "1m")
    assert {k[0] for k in svc._recent} == {"A", "B"}  # noqa: SLF001 - not a day yet
    src.minute += 2
    got = svc.patterns_many(["B"], "1m")
    assert {k[0] for k in svc._recent} == {"B"}  # noqa: SLF001
    for cache in (svc.repo._rows, svc.repo._stored, svc.repo._dicts):  # noqa: SLF001
        assert {g[0] for g in cache._groups} <= {"B"}  # noqa: SLF001
    src.minute += 1  # asked again, A is read afresh and answers as before it was dropped
    again = svc.patterns_many(["A", "B"], "1m")
    fresh = PatternService(settings, db, BatchSource(src.frames))
    fresh.source.minute = src.minute  # type: ignore[attr-defined]
    assert again["results"] == fresh.patterns_many(["A", "B"], "1m")["results"]
    assert got["count"] == 1


def test_kept_windows_stay_within_their_bytes_and_take_their_rows_along(tmp_path, db
                                                                        ) -> None:  # type: ignore[no-untyped-def]
    n = 400
    frames = {s: random_walk(i, n=n) for i, s in enumerate("ABC", start=3)}
    probe = PatternService(make_settings(tmp_path, patterns__lookback_bars=60), db,
                           BatchSource(frames))
    probe.source.minute = 100  # type: ignore[attr-defined]
    probe.patterns_many(["A"], "1m")
    window = probe._recent.currsize  # noqa: SLF001 - one kept window's bytes
    assert window > 0
    # room for two windows and a half: the third symbol pushes the least recently used out
    settings = make_settings(tmp_path, patterns__lookback_bars=60,
                             patterns__cache_max_mb=2.5 * window / (1 << 20))
    src = BatchSource(frames)
    svc = PatternService(settings, db, src)
    src.minute = 150
    got = svc.patterns_many(["A", "B", "C"], "1m")
    assert {k[0] for k in svc._recent} == {"B", "C"}  # noqa: SLF001
    assert svc._recent.currsize <= 2.5 * window  # noqa: SLF001
    for cache in (svc.repo._rows, svc.repo._stored, svc.repo._dicts):  # noqa: SLF001
        assert "A" not in {g[0] for g in cache._groups}  # noqa: SLF001 - went with its window
    assert svc.health()["kept_windows"] == 2
    unbounded = PatternService(make_settings(tmp_path, patterns__lookback_bars=60), db,
                               BatchSource(frames))
    for minute in (150, 151, 170):  # then A is read afresh and answers as if always kept
        src.minute = unbounded.source.minute = minute  # type: ignore[attr-defined]
        got = svc.patterns_many(["A", "B", "C"], "1m")
        assert got["results"] == unbounded.patterns_many(["A", "B", "C"], "1m")["results"]
        assert svc._recent.currsize <= 2.5 * window  # noqa: SLF001
