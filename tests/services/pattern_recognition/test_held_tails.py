"""Updates that read only the new bars (the tails the service holds between updates) answer
and store exactly what updates reading their whole window again do."""
from __future__ import annotations

from typing import Any

import pandas as pd

from services.pattern_recognition.feed import FrameFeed, MarketFeed
from services.pattern_recognition.service import CandlestickService
from shared.db import Database, migrate
from tests.conftest import make_settings
from tests.services.pattern_recognition.factories import session_frame, simulated_market

_DETECTIONS = ("SELECT symbol, timeframe, ts, visible_at, pattern, direction, value, strength, "
               "close_micros, tod_bucket, complete FROM candle_detections ORDER BY 1, 2, 3, 5")
_OUTCOMES = ("SELECT d.symbol, d.ts, d.pattern, o.horizon, o.ret, o.signed_ret, o.available_at "
             "FROM candle_outcomes o JOIN candle_detections d ON d.id = o.detection_id "
             "ORDER BY 1, 2, 3, 4")


def _stored(db: Database) -> tuple[list[tuple[Any, ...]], ...]:
    return tuple([tuple(r) for r in db.fetch_all(sql)] for sql in (
        _DETECTIONS, _OUTCOMES, "SELECT symbol, timeframe, last_bar_ts FROM candle_progress "
        "ORDER BY 1, 2"))


def _steps() -> list[pd.Timestamp]:
    """One session minute by minute (with a pause), its close, and the next day's open."""
    day = pd.date_range("2024-03-05T14:31Z", "2024-03-05T15:40Z", freq="1min")
    late = pd.date_range("2024-03-05T15:52Z", "2024-03-05T16:10Z", freq="1min")
    close = pd.date_range("2024-03-05T20:55Z", "2024-03-05T21:02Z", freq="1min")
    nxt = pd.date_range("2024-03-06T14:31Z", "2024-03-06T14:45Z", freq="1min")
    return [*day, *late, *close, *nxt]


def _session(tmp_path, keep_tails: bool, reads: list[int],  # type: ignore[no-untyped-def]
             max_mb: float | None = None, kept: list[tuple[int, float]] | None = None):
    settings, db, ctl, dm = simulated_market(tmp_path)
    if max_mb is not None:  # a tighter bound on the tails held
        settings = settings.model_copy(update={"candlesticks": settings.candlesticks.model_copy(
            update={"cache_max_mb": max_mb})})
    many = dm.get_bars_many

    def counted(*a: Any, **k: Any) -> Any:
        if k.get("cache") is False:  # the new bars of held tails (windows go through the cache)
            reads.append(len(a[0]))
        return many(*a, **k)

    dm.get_bars_many = counted  # type: ignore[method-assign]
    svc = CandlestickService(settings, db, MarketFeed(settings, dm), keep_tails=keep_tails)
    syms = sorted(s for s in dm.universe if "/" not in s)[:6]
    answers = []
    try:
        for i, t in enumerate(_steps()):
            ctl.advance(t)
            # four symbols always, a fifth joining and leaving (it backfills, then is held),
            # and now and then a scan limited to two patterns
            batch = syms[:4] + ([syms[4]] if 10 <= i < 40 or i >= 60 else [])
            pats = ["CDLDOJI", "CDLSPINNINGTOP"] if i % 7 == 3 else None
            got = svc.scan(batch, "1m", pats)
            got.pop("as_of")
            answers.append(got)
            if kept is not None:
                health = svc.health()
                kept.append((health["kept_tails"], health["kept_mb"]))
            if i % 11 == 5:  # a single-symbol read (the dashboard's) between scans
                one = svc.detections(syms[5], "1m")
                one.pop("as_of")
                answers.append(one)
        stats = svc.stats(timeframe="1m", group_by="symbol")
        stats.pop("as_of")
        return answers, _stored(db), stats
    finally:
        dm.close()
        db.close()


def test_held_tails_answer_and_store_what_reading_everything_does(tmp_path):
    held_reads: list[int] = []
    held = _session(tmp_path / "held", True, held_reads)
    full_reads: list[int] = []
    full = _session(tmp_path / "full", False, full_reads)
    assert held[0] == full[0]  # every scan's answer, step by step
    assert held[1] == full[1]  # every stored detection, outcome and progress row
    assert held[2] == full[2]  # the reliability statistics
    dets, outs, _ = held[1]
    assert len(dets) > 500 and len(outs) > 1000
    assert any(r["latest"] for a in held[0] for r in a.get("results", []))
    assert any(r["new_outcomes"] for a in held[0] for r in a.get("results", []))
    # the held run read only new bars (one batch per step), the other never did
    assert len(held_reads) > 80 and not full_reads


def test_tails_stay_within_their_bytes_and_answer_the_same(tmp_path):
    # room for two or three of the symbols' 1m tails: the others are read whole each step
    full = _session(tmp_path / "full", False, [])
    kept: list[tuple[int, float]] = []
    bounded = _session(tmp_path / "bounded", True, [], max_mb=0.03, kept=kept)
    assert bounded == full  # every answer, stored row and statistic
    assert all(mb <= 0.03 for _, mb in kept)
    # four symbols or five every step: once their tails have grown, some are pushed out
    assert 0 < max(n for n, _ in kept[10:]) < 4


def _frame_services(tmp_path, **kw):  # type: ignore[no-untyped-def]
    frames = {(s, "5m"): session_frame(["2024-03-04", "2024-03-05", "2024-03-06"], seed=n)
              for n, s in enumerate(("ABC", "XYZ"), start=3)}
    settings = make_settings(tmp_path)
    db = Database.from_settings(settings)
    migrate(db)
    feed = FrameFeed(frames, now=pd.Timestamp("2024-03-04T15:00Z"))
    return db, feed, [CandlestickService(settings, db, feed, **kw) for _ in range(2)]


def test_a_tail_another_writer_made_stale_is_read_again(tmp_path):
    # two services on one database (two workers) take turns on the same symbols: each one's
    # tail goes stale at the other's write, and its next update must read everything again
    times = pd.date_range("2024-03-04T15:00Z", "2024-03-06T21:00Z", freq="17min")
    results = []
    for name, kw in (("turns", {}), ("reference", {"keep_tails": False})):
        db, feed, svcs = _frame_services(tmp_path / name, **kw)
        answers = []
        for i, t in enumerate(times):
            feed.set_now(t)
            svc = svcs[(i // 3) % 2] if name == "turns" else svcs[0]
            got = svc.scan(["ABC", "XYZ"], "5m")
            got.pop("as_of")
            answers.append(got)
        results.append((answers, _stored(db)))
        db.close()
    assert results[0] == results[1]
    assert len(results[0][1][0]) > 100 and len(results[0][1][1]) > 100
